/// What `POST {url}/heartbeat` carries: one site's report of every channel it shares with the
/// receiving site, signed by the sending **site** key and sealed to the receiving site
/// (docs/PROTOCOL.md §7.7). One request per site pair and heartbeat interval, however many
/// channels the two sites share.
///
/// ```json
/// {"type":"heartbeat","encoding":"nomadsync","version":"nomadsync/1","site_id":"<sender site_id>",
///  "recipient":"<receiving site_id>","data":{ sealed payload }}
/// ```
public struct SiteHeartbeat: Sendable, Equatable, Codable {
    public static let typeName = "heartbeat"
    /// Channel reports in one heartbeat: a site pair sharing more sends several requests.
    public static let maxChannels = 1_000

    public var type: String
    public var encoding: String
    public var version: String
    public var siteID: SiteID
    public var recipient: SiteID
    public var data: SealedPayload

    public init(siteID: SiteID, recipient: SiteID, data: SealedPayload) {
        type = Self.typeName
        encoding = NomadsyncCodec.tag
        version = Envelope.currentVersion
        self.siteID = siteID
        self.recipient = recipient
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case type, encoding, version, recipient, data
        case siteID = "site_id"
    }

    /// The additional authenticated data of the sealed payload:
    /// `text("nomadsync/heartbeat/1") text(sender site_id) text(recipient site_id)`.
    public static func binding(from sender: SiteID, to recipient: SiteID) -> [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/heartbeat/1")
        w.text(sender.text)
        w.text(recipient.text)
        return w.bytes
    }

    /// Refuses anything but a `heartbeat` of encoding `nomadsync`, version `nomadsync/1`.
    public func validateHeader() throws {
        guard type == Self.typeName else {
            throw ModelError.invalidField("type", reason: "must be '\(Self.typeName)', not '\(type.prefix(40))'")
        }
        guard encoding == NomadsyncCodec.tag else {
            throw ModelError.invalidField("encoding", reason: "must be '\(NomadsyncCodec.tag)', not '\(encoding.prefix(40))'")
        }
        guard version == Envelope.currentVersion else {
            throw ModelError.invalidField("version", reason: "must be '\(Envelope.currentVersion)', not '\(version.prefix(40))'")
        }
    }
}

/// The decrypted payload of a site heartbeat.
public struct SiteHeartbeatData: Sendable, Equatable, Codable {
    public var from: SiteID
    public var to: SiteID
    public var channels: [ChannelReport]

    public init(from: SiteID, to: SiteID, channels: [ChannelReport]) {
        self.from = from
        self.to = to
        self.channels = channels
    }

    /// `from` and `to` name the envelope's sites, at most `SiteHeartbeat.maxChannels` reports,
    /// no channel twice, every digest 64 lowercase hex digits.
    public func validate(envelope: SiteHeartbeat) throws {
        guard from == envelope.siteID, to == envelope.recipient else {
            throw ModelError.invalidField("from/to", reason: "name other sites than the heartbeat's envelope")
        }
        guard channels.count <= SiteHeartbeat.maxChannels else {
            throw ModelError.tooLarge("a heartbeat reports \(channels.count) channels; the limit is \(SiteHeartbeat.maxChannels)")
        }
        var seen = Set<PortableID>()
        for report in channels {
            guard seen.insert(report.channel).inserted else {
                throw ModelError.invalidField("channels", reason: "channel \(report.channel.text) is reported twice")
            }
            guard report.digest.utf8.count == 64, report.digest.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw ModelError.invalidField("digest", reason: "must be 64 lowercase hex digits")
            }
        }
    }
}

/// One channel's line in a site heartbeat: what the sending site holds of it.
public struct ChannelReport: Sendable, Equatable, Codable {
    /// The channel's current portable_id at the sending site.
    public var channel: PortableID
    public var vector: VersionVector
    /// The sending site's state digest of the channel, 64 lowercase hex digits.
    public var digest: String

    public init(channel: PortableID, vector: VersionVector, digest: String) {
        self.channel = channel
        self.vector = vector
        self.digest = digest
    }
}

/// The answer to a site heartbeat: a status for every reported channel, in the order sent.
/// `{"success":true,"channels":[{"channel":"<portable_id>","status":"recorded"}]}`
public struct SiteHeartbeatAnswer: Sendable, Equatable, Codable {
    public var success: Bool
    public var channels: [ChannelReportStatus]

    public init(channels: [ChannelReportStatus]) {
        success = true
        self.channels = channels
    }
}

/// What the receiving site made of one channel's report.
public struct ChannelReportStatus: Sendable, Equatable, Codable {
    /// The report was recorded: the sender counts as heard from for this channel.
    public static let recorded = "recorded"
    /// No channel hosted here has this id (or only as an id a rekey replaced): the sender
    /// sends this channel's heartbeat as an empty `sync` instead, which carries its `key` entries.
    public static let unknownChannel = "unknown-channel"
    /// The sending site is not a live location of the channel here: the sender queues its
    /// `location` entry for this site again.
    public static let unknownLocation = "unknown-location"
    /// This site no longer carries the channel (retired its location, purged it, or is still
    /// bootstrapping it).
    public static let notServed = "not-served"

    public var channel: PortableID
    /// One of the statuses above; a sender treats any other value as not recorded.
    public var status: String

    public init(channel: PortableID, status: String) {
        self.channel = channel
        self.status = status
    }
}
