/// The decrypted content of a `sync` message: a batch of entries (empty for a heartbeat) with
/// the sender's version vector and state digest.
public struct SyncData: Sendable, Equatable, Codable {
    public var channel: PortableID
    public var from: SiteID
    public var entries: [ChangeEntry]
    public var vector: VersionVector
    /// The sender's state digest, 64 lowercase hex digits.
    public var digest: String
    /// The channel's `key` entries once it was rekeyed (docs/PROTOCOL.md §8): they vouch for the
    /// sender's new id and are replayed only where they fit (never a reason to refuse the packet).
    public var keys: [ChangeEntry]?

    public init(channel: PortableID, from: SiteID, entries: [ChangeEntry], vector: VersionVector, digest: String,
                keys: [ChangeEntry]? = nil) {
        self.keys = keys
        self.channel = channel
        self.from = from
        self.entries = entries
        self.vector = vector
        self.digest = digest
    }
}

/// One line of a delivery report (the seed's shape), returned with every 2xx answer.
public struct DeliveryReport: Sendable, Equatable, Codable {
    public var location: String
    public var sender: String
    public var recipient: String
    public var name: String
    public var messageID: String
    public var status: String
    public var date: String

    public init(location: String, sender: String, recipient: String, name: String, messageID: String,
                status: String, date: String) {
        self.location = location
        self.sender = sender
        self.recipient = recipient
        self.name = name
        self.messageID = messageID
        self.status = status
        self.date = date
    }

    enum CodingKeys: String, CodingKey {
        case location, sender, recipient, name, status, date
        case messageID = "message_id"
    }
}
