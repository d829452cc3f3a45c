import NomadCrypto
import NomadModel

/// Decides what delivery does and what each answer means (DESIGN §5, docs/PROTOCOL.md §7):
/// which location gets a packet or a heartbeat and when, which origin to pull from which clone,
/// and, for every answer, what changes in the outbox, the backoff and the writer. It does no
/// network I/O: the delivery worker, `nomadsync sync` and the simulator carry out its actions
/// (the first two through `SyncClient`) and hand the answers back.
///
/// ```swift
/// let planner = DeliveryPlanner(site: site)
/// for send in try planner.plan(channel: channel).sends {
///     let answer = await client.post(send.body, to: send.urls, keys: keys, keyURL: send.keyURL, now: now)
///     _ = try planner.record(answer, of: send)
/// }
/// ```
public struct DeliveryPlanner: Sendable {
    public let site: Site
    public var policy: DeliveryPolicy

    public init(site: Site, policy: DeliveryPolicy = DeliveryPolicy()) {
        self.site = site
        self.policy = policy
    }

    // MARK: Planning

    /// What is due now for one channel. A location's turn comes when its backoff is over and it
    /// has queued entries, or nothing reached it for a heartbeat interval (the time of the last
    /// acknowledged packet is in the store, so a restart does not reset it).
    ///
    /// `heartbeatsAsOf` is the time a delivery pass began and sent its site heartbeats: a
    /// location with nothing queued gets an empty `sync` only when its heartbeat was already due
    /// then (the site heartbeat did not cover it: refused, not recorded). One that fell due
    /// during the pass waits for the next pass's site heartbeat, so a pass longer than the
    /// interval does not turn into one empty `sync` per channel.
    ///
    /// `heartbeatsInFlight`: the pass's site heartbeats are still on their way, so whether they
    /// cover a location is not known yet. Entries go now; a location due only for a heartbeat is
    /// left out and named in `heartbeatsLeft`, to plan again once the site heartbeats are
    /// answered. A change never waits for another site's heartbeat answer.
    public func plan(channel: HostedChannel, heartbeatsAsOf: UInt64? = nil, heartbeatsInFlight: Bool = false) throws -> DeliveryPlan {
        let keyURL = try self.keyURL(channel)
        // What is due is decided inside the read, so the packets' rows come from the same snapshot.
        var decided = DueLocations(locations: [], wakeAt: nil, heartbeatsLeft: [])
        let (inputs, rows) = try site.deliveryInputs(channel: channel, pushGrace: policy.heartbeatMilliseconds, maxEntries: policy.packetEntries) {
            decided = due($0, heartbeatsAsOf: heartbeatsAsOf, heartbeatsInFlight: heartbeatsInFlight)
            return decided.locations
        }
        let sends = try rows.map { try site.packets(from: $0, maxBytes: policy.packetBytes, heartbeats: true) }?
            .map { SendAction(channel: channel, packet: $0, keyURL: keyURL) } ?? []
        return DeliveryPlan(sends: sends, pulls: pulls(channel: channel, keyURL: keyURL, needs: inputs.needs),
                            wakeAt: decided.wakeAt, heartbeatsLeft: decided.heartbeatsLeft)
    }

    /// The sends of `plan(channel:)` alone.
    public func sends(channel: HostedChannel) throws -> [SendAction] { try plan(channel: channel).sends }

    /// The pulls of `plan(channel:)` alone.
    public func pulls(channel: HostedChannel) throws -> [PullAction] {
        let inputs = try site.deliveryInputs(channel: channel, pushGrace: policy.heartbeatMilliseconds)
        return pulls(channel: channel, keyURL: try keyURL(channel), needs: inputs.needs)
    }

    /// The locations a plan sends to now (a packet or a heartbeat), when the next one falls due,
    /// and those left to the site heartbeats in flight.
    struct DueLocations {
        var locations: [Location]
        var wakeAt: UInt64?
        var heartbeatsLeft: [SiteID]
    }

    func due(_ inputs: DeliveryInputs, heartbeatsAsOf: UInt64?, heartbeatsInFlight: Bool) -> DueLocations {
        let now = site.clock.nowMilliseconds()
        let asOf = min(heartbeatsAsOf ?? now, now)
        var due: [Location] = []
        var wakeAt: UInt64?
        var left: [SiteID] = []
        // A retired location only sends what is still queued (its own deleted `location` last).
        for target in inputs.targets where !inputs.retired || target.queued {
            let heartbeatAt = (target.peer.lastDelivered ?? 0).addingSaturating(policy.heartbeatMilliseconds)
            let dueAt = max(target.peer.nextAttempt, target.queued ? 0 : heartbeatAt)
            // Due now, but only a heartbeat, and it fell due after the pass's site heartbeats:
            // the next pass's site heartbeat carries it (wake at once for that pass).
            let leftToSiteHeartbeat = !target.queued && dueAt <= now && heartbeatAt > asOf
            if dueAt > now || leftToSiteHeartbeat {
                wakeAt = min(wakeAt ?? dueAt, dueAt)
                continue
            }
            if heartbeatsInFlight && !target.queued {
                left.append(target.location.siteID)
                continue
            }
            due.append(target.location)
        }
        return DueLocations(locations: due, wakeAt: wakeAt, heartbeatsLeft: left)
    }

    /// The next packet for `location` now, whatever its backoff: the oldest queued entries, or a
    /// heartbeat when nothing is queued (what `nomadsync sync push` sends).
    public func send(channel: HostedChannel, to location: Location) throws -> SendAction {
        let packet = try site.nextPacket(channel: channel.nickname, to: location, maxEntries: policy.packetEntries,
                                         maxBytes: policy.packetBytes)
        return SendAction(channel: channel, packet: packet, keyURL: try keyURL(channel))
    }

    /// The packet that follows `previous` (still in flight) to the same location: the entries
    /// queued after its last one, or nil when none are (or `previous` was a heartbeat). The
    /// delivery worker sends it without waiting for `previous`'s answer, so building, sending
    /// and the receiver's replay overlap; a receiver that gets it first holds its entries
    /// until `previous`'s arrive (entries may come in any order, docs/PROTOCOL.md §3).
    public func send(after previous: SendAction) throws -> SendAction? {
        // It took the whole queue and nothing was written here since: there is nothing to read.
        // (What another process writes meanwhile moves the change marker: the next pass sends it.)
        if let seen = previous.packet.drainedAsOfCommits, seen == site.store.commits.count { return nil }
        guard let last = previous.packet.positions.last,
              let packet = try site.nextPackets(channel: previous.channel.nickname, to: [previous.location], after: last,
                                                maxEntries: policy.packetEntries, maxBytes: policy.packetBytes, heartbeats: false).first
        else { return nil }
        return SendAction(channel: previous.channel, packet: packet, keyURL: previous.keyURL)
    }

    /// One pull per origin this site lacks entries of (DESIGN §5 catch-up): from the clone that
    /// reported them first (online before offline), then any other live clone.
    func pulls(channel: HostedChannel, keyURL: String, needs: [CatchUpNeed]) -> [PullAction] {
        needs.compactMap { need in
            guard let first = need.sources.first else { return nil }
            return PullAction(channel: channel, source: first, origin: need.origin, after: need.after, through: need.through,
                              limit: policy.packetEntries, keyURL: keyURL, fallbacks: Array(need.sources.dropFirst()))
        }
    }

    /// One page of `origin`'s entries from `source`, by hand (`nomadsync sync pull`).
    public func pull(channel: HostedChannel, from source: Location, origin: OriginID, after: UInt64, limit: Int) throws -> PullAction {
        PullAction(channel: channel, source: source, origin: origin, after: after, through: VersionVector.maxSeq,
                   limit: max(1, min(limit, site.limits.maxEntriesPerPacket)), keyURL: try keyURL(channel), fallbacks: [])
    }

    /// The channel's URL at this site, whose key id signs its requests.
    public func keyURL(_ channel: HostedChannel) throws -> String { "\(try site.identity().url)/channel/\(channel.nickname)" }

    // MARK: Outcomes

    /// Records what a location answered a packet:
    /// - acknowledged → the entries leave the outbox, the location is online;
    /// - `409 fork` naming one of this site's writers → the writer heals (docs/PROTOCOL.md §3.2);
    /// - `403 unknown-location` → our `location` entry is queued for that clone again, and retried;
    /// - any other refusal, or no answer → retried after the backoff (no answer: offline).
    public func record(_ answer: PeerAnswer<DeliveryAnswer>, of action: SendAction) throws -> SendEvent {
        let siteID = action.location.siteID
        switch answer {
        case .answered:
            let (wasOffline, more) = try site.acknowledged(channel: action.channel, siteID: siteID, positions: action.packet.positions)
            return .acked(entries: action.packet.entryCount, more: more && !action.isHeartbeat, wasOffline: wasOffline)
        case .refused(let refusal):
            if let fork = refusal.fork,
               let healed = try site.forkAnswered(nickname: action.channel.nickname, origin: fork.origin, seq: fork.seq) {
                return .healed(healed, because: refusal.description)
            }
            if refusal.unknownLocation { try site.introduce(nickname: action.channel.nickname, to: siteID) }
            if let keys = refusal.rekeyed { try? site.learnRekeys(nickname: action.channel.nickname, keys) }
            let retryAt = try site.deliveryFailed(channel: action.channel, siteID: siteID, reason: refusal.description,
                                                  unreachable: false, backoff: policy.backoff)
            return .failed(reason: refusal.description, unreachable: false, retryAt: retryAt, introduced: refusal.unknownLocation)
        case .unreachable(let reason):
            let retryAt = try site.deliveryFailed(channel: action.channel, siteID: siteID, reason: reason, unreachable: true,
                                                  backoff: policy.backoff)
            return .failed(reason: reason, unreachable: true, retryAt: retryAt, introduced: false)
        }
    }

    /// Records what a clone answered a pull: a page that opens (signed by the channel key,
    /// sealed to this site, bound to this request) is replayed with the clone's report in one
    /// transaction; anything else makes that clone back off and the pull move to the next one.
    public func record(_ answer: PeerAnswer<SealedPage>, of action: PullAction) throws -> PullStep {
        switch answer {
        case .unreachable(let reason):
            return try pullFailed(action, reason: reason, unreachable: true)
        case .refused(let refusal):
            return try pullFailed(action, reason: refusal.description, unreachable: false)
        case .answered(let sealed):
            let page: SyncPage
            let report: ReplayReport
            do {
                page = try site.openPage(sealed, channel: action.channel, server: action.source, origin: action.origin, after: action.after)
                guard !page.entries.isEmpty else {
                    return try pullFailed(action, reason: "it has no entries of \(action.origin.text) after seq \(action.after)",
                                          unreachable: false)
                }
                report = try site.applyPage(page, channel: action.channel)
            } catch {
                return try pullFailed(action, reason: "\(error)", unreachable: false)
            }
            var next: PullAction?
            // The next page only while it is still needed: the origin's site may have started
            // pushing the rest since the pull began (its first packet came after its heartbeat),
            // and pulling on would bring every remaining entry twice.
            if let last = page.entries.last, page.more, last.seq < action.through,
               try site.catchUpNeeds(channel: action.channel.nickname, pushGrace: policy.heartbeatMilliseconds)
                   .contains(where: { $0.origin == action.origin }) {
                next = action
                next?.after = last.seq
            }
            return PullStep(event: .applied(report, pulled: page.entries.count), next: next)
        }
    }

    private func pullFailed(_ action: PullAction, reason: String, unreachable: Bool) throws -> PullStep {
        let retryAt = try site.deliveryFailed(channel: action.channel, siteID: action.source.siteID, reason: "pull: \(reason)",
                                              unreachable: unreachable, backoff: policy.backoff)
        return PullStep(event: .failed(source: action.source, reason: reason, unreachable: unreachable, retryAt: retryAt),
                        next: action.skipping([action.source.siteID]))
    }
}

extension PullAction {
    /// The same pull from the first source not in `failed` (the current one included), or nil
    /// when every source failed.
    public func skipping(_ failed: Set<SiteID>) -> PullAction? {
        let candidates = ([source] + fallbacks).filter { !failed.contains($0.siteID) }
        guard let first = candidates.first else { return nil }
        var next = self
        next.source = first
        next.fallbacks = Array(candidates.dropFirst())
        return next
    }
}
