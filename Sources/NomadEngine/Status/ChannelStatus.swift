import NomadModel

/// What `nomadsync channel show --json` prints: the channel's identity, its clone's position in
/// the log (vector, digest, counts) and its known locations.
public struct ChannelStatus: Sendable, Equatable, Codable {
    public var nickname: String
    public var name: String
    public var portableID: PortableID
    public var guid: String
    public var publicKey: String
    public var writer: OriginID
    public var digest: String
    public var vector: VersionVector
    /// Entries in the local copy of the log.
    public var entries: Int
    /// Entries waiting for a gap to fill.
    public var held: Int
    public var missing: [MissingRange]
    /// Why the channel is flagged diverged, or null.
    public var diverged: String?
    public var locations: [Location]

    enum CodingKeys: String, CodingKey {
        case nickname, name, guid, writer, digest, vector, entries, held, missing, diverged, locations
        case portableID = "portable_id"
        case publicKey = "public_key"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nickname, forKey: .nickname)
        try c.encode(name, forKey: .name)
        try c.encode(portableID, forKey: .portableID)
        try c.encode(guid, forKey: .guid)
        try c.encode(publicKey, forKey: .publicKey)
        try c.encode(writer, forKey: .writer)
        try c.encode(digest, forKey: .digest)
        try c.encode(vector, forKey: .vector)
        try c.encode(entries, forKey: .entries)
        try c.encode(held, forKey: .held)
        try c.encode(missing, forKey: .missing)
        try c.encode(diverged, forKey: .diverged)  // always present, null when healthy
        try c.encode(locations, forKey: .locations)
    }
}
