import NomadModel

/// A packet to post to one location: the next queued entries, or a heartbeat when none are.
public struct SendAction: Sendable {
    public var channel: HostedChannel
    public var location: Location
    public var packet: OutboundPacket
    /// The envelope as it goes on the wire (JSON).
    public var body: [UInt8]
    /// The channel's URL at this site: requests are signed with `keyId = <keyURL>#ed25519`.
    public var keyURL: String

    /// The main URL, then the fallbacks in the order they were added.
    public var urls: [String] { location.baseURLs }
    /// No entries: only our vector and digest.
    public var isHeartbeat: Bool { packet.positions.isEmpty }
}

extension SendAction {
    /// The action that posts `packet` (to its location), signed as `channel` at `keyURL`.
    init(channel: HostedChannel, packet: OutboundPacket, keyURL: String) {
        self.init(channel: channel, location: packet.location, packet: packet, body: packet.envelope.wireJSON, keyURL: keyURL)
    }
}

/// A page of one origin's entries to fetch from one clone.
public struct PullAction: Sendable {
    public var channel: HostedChannel
    public var source: Location
    public var origin: OriginID
    /// Fetch entries with `seq > after`.
    public var after: UInt64
    /// The highest seq known to exist (from a clone's report or a held entry).
    public var through: UInt64
    public var limit: Int
    public var keyURL: String
    /// Where to try next if `source` fails, in order.
    public var fallbacks: [Location]

    public var urls: [String] { source.baseURLs }
}

/// What delivery should do now for one channel.
public struct DeliveryPlan: Sendable {
    /// One packet for every location whose turn has come (queued entries or a heartbeat due,
    /// and no backoff in force). Each can be sent in parallel with the others.
    public var sends: [SendAction]
    /// One pull for every origin this site lacks entries of, from the best clone first.
    public var pulls: [PullAction]
    /// When the next send falls due if nothing changes (ms since 1970), if any is planned.
    public var wakeAt: UInt64?
    /// Locations due only for a heartbeat, left out because the pass's site heartbeats were
    /// still in flight (`plan(channel:heartbeatsAsOf:heartbeatsInFlight:)`).
    public var heartbeatsLeft: [SiteID] = []
}

/// What the planner made of a packet's answer.
public enum SendEvent: Sendable {
    /// Acknowledged: the entries left the outbox. `more` when entries remain queued for the
    /// location (ask `nextSend` at once); `wasOffline` when the location had been offline.
    case acked(entries: Int, more: Bool, wasOffline: Bool)
    /// `409 fork` naming this site's writer: its entries from that seq on were taken back and
    /// re-issued under a new writer; the healed outbox goes out on the next pass.
    case healed(WriterHealReport, because: String)
    /// Refused or unreachable: retried after the backoff. `introduced` when the clone did not
    /// know this site and our `location` entry was queued for it again.
    case failed(reason: String, unreachable: Bool, retryAt: UInt64, introduced: Bool)
}

/// What the planner made of a pulled page, and the pull to run next, if any.
public struct PullStep: Sendable {
    public enum Event: Sendable {
        case applied(ReplayReport, pulled: Int)
        /// The source failed (no answer, a refusal, a page that does not open or holds nothing
        /// where entries were reported); it backs off exactly as a failed delivery does.
        case failed(source: Location, reason: String, unreachable: Bool, retryAt: UInt64)
    }

    public var event: Event
    /// The next page from the same clone, or the same page from the next clone after a failure.
    public var next: PullAction?
}
