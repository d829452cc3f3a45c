import NomadCrypto
import NomadModel
import NomadStore

/// One heartbeat request to another site: the reports of every channel the two sites share
/// that is neither in backoff for it nor has entries queued for it (a packet with entries
/// carries the report itself).
public struct SiteHeartbeatAction: Sendable {
    public var siteID: SiteID
    /// The site's main URL, then its fallbacks (as the first reported channel's location lists them).
    public var urls: [String]
    /// The reported channels, in the order of the reports.
    public var channels: [HostedChannel]
    /// The `SiteHeartbeat` as it goes on the wire (JSON).
    public var body: [UInt8]
    /// This site's URL: the request is signed with `keyId = <keyURL>#ed25519`.
    public var keyURL: String
    /// When it was planned (ms since 1970). A channel the site records counts as delivered to
    /// from then, so the next heartbeat falls due one interval after this one was planned, the
    /// time the delivery worker wakes for — not one round trip later, which took a pass of its own.
    public var plannedAt: UInt64
}

/// What the planner made of a site heartbeat's answer.
public enum SiteHeartbeatEvent: Sendable, Equatable {
    /// The site answered: `recorded` channels count as delivered to it now; `backOnline` were
    /// offline before; `notRecorded` (nickname → status) get their heartbeat as an empty `sync`
    /// in the same pass, as before site heartbeats existed.
    case answered(recorded: Int, backOnline: [String], notRecorded: [String: String])
    /// The site refused the request (a site without `/heartbeat` answers 404): nothing changes,
    /// and every channel's heartbeat goes out as an empty `sync` in the same pass.
    case refused(reason: String)
    /// No URL answered: every reported channel backs off until `retryAt`, the same time for all,
    /// so they stay together in one request when it comes.
    case unreachable(reason: String, retryAt: UInt64)
}

extension DeliveryPlanner {
    /// The site heartbeats due now (docs/PROTOCOL.md §7.7). Heartbeats go per site pair, not per
    /// channel: a site's heartbeat falls due when any channel it shares with this site has sent
    /// it nothing for the heartbeat interval, and then carries every shared channel's report, so
    /// the channels stay in step and two idle sites exchange one request per interval whatever the
    /// number of channels they share (several when they share over `SiteHeartbeat.maxChannels`).
    public func siteHeartbeats() throws -> [SiteHeartbeatAction] {
        let now = site.clock.nowMilliseconds()
        let identity = try site.identity()
        return try site.heartbeatGroups(now: now, interval: policy.heartbeatMilliseconds).flatMap { group -> [SiteHeartbeatAction] in
            try stride(from: 0, to: group.members.count, by: SiteHeartbeat.maxChannels).map { start in
                let members = Array(group.members[start..<min(start + SiteHeartbeat.maxChannels, group.members.count)])
                let data = SiteHeartbeatData(from: identity.siteID, to: group.location.siteID, channels: members.map(\.report))
                let heartbeat = try site.sealSiteHeartbeat(data, to: group.location, identity: identity)
                return SiteHeartbeatAction(siteID: group.location.siteID, urls: group.location.baseURLs, channels: members.map(\.channel),
                                           body: Array(try WireJSON.encode(heartbeat).utf8), keyURL: identity.url, plannedAt: now)
            }
        }
    }

    /// Records what a site answered a heartbeat: each recorded channel is delivered to now (online,
    /// backoff over); a channel the site does not know this site as a location of gets our
    /// `location` entry queued for it again; the rest fall back to an empty `sync`.
    public func record(_ answer: PeerAnswer<SiteHeartbeatAnswer>, of action: SiteHeartbeatAction) throws -> SiteHeartbeatEvent {
        switch answer {
        case .answered(let reply):
            let statuses = Dictionary(reply.channels.map { ($0.channel, $0.status) }, uniquingKeysWith: { first, _ in first })
            var recorded: [HostedChannel] = []
            var notRecorded: [String: String] = [:]
            for channel in action.channels {
                let status = statuses[channel.portableID] ?? "missing from the answer"
                if status == ChannelReportStatus.recorded {
                    recorded.append(channel)
                    continue
                }
                notRecorded[channel.nickname] = status
                if status == ChannelReportStatus.unknownLocation { try site.introduce(nickname: channel.nickname, to: action.siteID) }
            }
            let backOnline = try site.heartbeatAcknowledged(channels: recorded, siteID: action.siteID, at: action.plannedAt)
            return .answered(recorded: recorded.count, backOnline: backOnline, notRecorded: notRecorded)
        case .refused(let refusal):
            return .refused(reason: refusal.description)
        case .unreachable(let reason):
            let retryAt = try site.deliveryFailed(channels: action.channels, siteID: action.siteID, reason: reason, backoff: policy.backoff)
            return .unreachable(reason: reason, retryAt: retryAt)
        }
    }
}

/// The channels one other site shares with this one, as a heartbeat would report them.
struct HeartbeatGroup {
    struct Member {
        var channel: HostedChannel
        var report: ChannelReport
    }

    var location: Location
    var members: [Member]
}

extension Site {
    /// Every other site a heartbeat is due to (some channel the two share has sent it nothing
    /// for `interval`), with the channels it would report now (one read transaction).
    func heartbeatGroups(now: UInt64, interval: UInt64) throws -> [HeartbeatGroup] {
        try store.read { tx in
            guard let me = try tx.site()?.siteID else { return [] }
            // Which channels each other site would get, and whether any of them is due; the
            // reports (a vector read each) are built only for the sites a heartbeat is due to,
            // which on most passes is none.
            var sites: [SiteID: (location: Location, channels: [ChannelRecord], due: Bool)] = [:]
            var order: [SiteID] = []
            for channel in try tx.channels() where channel.purgedAt == nil && channel.bootstrap == nil {
                let locations = try Self.locations(channel: channel, in: tx)
                guard !(locations.first { $0.siteID == me }?.deleted ?? false) else { continue }
                for location in locations where !location.deleted && location.siteID != me {
                    guard try !tx.hasQueued(channel: channel.rowID, for: location.siteID) else { continue }
                    let peer = try tx.peer(channel: channel.rowID, siteID: location.siteID) ?? PeerRecord(siteID: location.siteID)
                    guard peer.nextAttempt <= now else { continue }
                    if sites[location.siteID] == nil { order.append(location.siteID) }
                    sites[location.siteID, default: (location, [], false)].channels.append(channel)
                    if (peer.lastDelivered ?? 0).addingSaturating(interval) <= now { sites[location.siteID]?.due = true }
                }
            }
            var reports: [Int64: ChannelReport] = [:]
            func report(_ channel: ChannelRecord) throws -> ChannelReport {
                if let known = reports[channel.rowID] { return known }
                let made = ChannelReport(channel: channel.portableID, vector: try tx.vector(channel: channel.rowID),
                                         digest: StateDigest(bytes: channel.digest).hex)
                reports[channel.rowID] = made
                return made
            }
            return try order.compactMap { siteID -> HeartbeatGroup? in
                guard let site = sites[siteID], site.due else { return nil }
                return HeartbeatGroup(location: site.location, members: try site.channels.map {
                    HeartbeatGroup.Member(channel: HostedChannel($0), report: try report($0))
                })
            }
        }
    }

    /// Seals a heartbeat's reports to `location`'s site.
    func sealSiteHeartbeat(_ data: SiteHeartbeatData, to location: Location, identity: SiteIdentity) throws -> SiteHeartbeat {
        let sealKey = try Base64URL.decode(location.sealkey, what: "sealkey of \(location.siteID.text)", length: SealKeyPair.publicKeyLength)
        let payload = try SealedPayload.seal(Array(try WireJSON.encode(data).utf8), to: sealKey,
                                             additionalData: SiteHeartbeat.binding(from: identity.siteID, to: location.siteID), random: random)
        return SiteHeartbeat(siteID: identity.siteID, recipient: location.siteID, data: payload)
    }

    /// A site recorded our reports of `channels`: each counts as delivered to it at `now` (when
    /// the heartbeat was planned; never earlier than a packet acknowledged since), exactly as an
    /// acknowledged packet (online, backoff over), in one transaction. Returns the nicknames of
    /// the channels for which the site had been offline.
    func heartbeatAcknowledged(channels: [HostedChannel], siteID: SiteID, at now: UInt64) throws -> [String] {
        guard !channels.isEmpty else { return [] }
        return try store.write { tx in
            var backOnline: [String] = []
            var news = false
            for channel in channels {
                let before = try tx.peer(channel: channel.rowID, siteID: siteID)
                var peer = before ?? PeerRecord(siteID: siteID)
                if peer.offline { backOnline.append(channel.nickname) }
                peer.delivered(at: max(now, peer.lastDelivered ?? 0))
                try tx.putPeer(channel: channel.rowID, peer)
                if !(before?.plansLike(peer) ?? false) { news = true }
            }
            // Only the time of the last heartbeat moved, which the pass that sent it accounts
            // for: the worker need not plan every channel again.
            if !news { tx.markQuiet() }
            return backOnline
        }
    }

    /// No URL of a site answered a heartbeat: every reported channel is offline for it and backs
    /// off until the same time, in one transaction. Returns that time.
    func deliveryFailed(channels: [HostedChannel], siteID: SiteID, reason: String, backoff: Backoff) throws -> UInt64 {
        let now = clock.nowMilliseconds()
        return try store.write { tx in
            var attempts = 1
            var peers: [(HostedChannel, PeerRecord)] = []
            for channel in channels {
                let peer = try tx.peer(channel: channel.rowID, siteID: siteID) ?? PeerRecord(siteID: siteID)
                attempts = max(attempts, peer.attempts + 1)
                peers.append((channel, peer))
            }
            let retryAt = now.addingSaturating(backoff.delay(afterAttempts: attempts, random: random))
            for (channel, var peer) in peers {
                peer.attempts = attempts
                peer.nextAttempt = retryAt
                peer.offline = true
                peer.lastError = String("heartbeat: \(reason)".prefix(500))
                try tx.putPeer(channel: channel.rowID, peer)
            }
            return retryAt
        }
    }
}
