import NomadCrypto

/// One page of a channel's log, served to a clone that catches up
/// (`GET /sync/{portable_id}/entries?origin=…&after=…&limit=…`). Any clone serves any origin's
/// entries, so a clone catches up even while the origin is down.
public struct SyncPage: Sendable, Equatable, Codable {
    public var channel: PortableID
    /// The site that served the page.
    public var from: SiteID
    public var origin: OriginID
    /// The page holds entries of `origin` with `seq > after`, in order.
    public var after: UInt64
    public var entries: [ChangeEntry]
    /// True when the server holds more entries of this origin after the page.
    public var more: Bool
    /// The server's vector and digest when it served the page.
    public var vector: VersionVector
    public var digest: String
    /// The channel's `key` entries (of any origin) when it was rekeyed: a clone that pulls one
    /// origin at a time still learns which keys the page's `location` entries are signed with.
    /// Absent when the channel never rekeyed.
    public var keys: [ChangeEntry]?

    public init(channel: PortableID, from: SiteID, origin: OriginID, after: UInt64, entries: [ChangeEntry], more: Bool,
                vector: VersionVector, digest: String, keys: [ChangeEntry]? = nil) {
        self.keys = keys
        self.channel = channel
        self.from = from
        self.origin = origin
        self.after = after
        self.entries = entries
        self.more = more
        self.vector = vector
        self.digest = digest
    }

    /// The additional data that binds a sealed page to its channel, its server, its requester
    /// and the exact request, so a page cannot be replayed as the answer to another request.
    public static func binding(channel: PortableID, server: SiteID, requester: SiteID, origin: OriginID, after: UInt64) -> [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/page/1")
        w.text(channel.text)
        w.text(server.text)
        w.text(requester.text)
        w.text(origin.text)
        w.u64(after)
        return w.bytes
    }
}

/// The answer to a sync pull: the page sealed to the requesting site, signed with the channel key
/// over the sealed `data` text, so the requester knows a holder of the channel key served it.
/// ```json
/// {"success":true,"channel":"<portable_id>","site_id":"<server site_id>","origin":"…","after":0,
///  "data":{ sealed payload },"signature":"ed25519.…"}
/// ```
public struct SealedPage: Sendable, Equatable, Codable {
    public var success: Bool
    public var channel: PortableID
    public var siteID: SiteID
    public var origin: OriginID
    public var after: UInt64
    public var data: SealedPayload
    public var signature: String

    public init(channel: PortableID, siteID: SiteID, origin: OriginID, after: UInt64, data: SealedPayload, signature: String) {
        self.success = true
        self.channel = channel
        self.siteID = siteID
        self.origin = origin
        self.after = after
        self.data = data
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case success, channel, origin, after, data, signature
        case siteID = "site_id"
    }
}
