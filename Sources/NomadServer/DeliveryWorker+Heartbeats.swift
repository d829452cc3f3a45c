import Logging
import NomadCrypto
import NomadEngine
import NomadModel

extension DeliveryWorker {
    /// The site heartbeats due now (one request per other site, docs/PROTOCOL.md §7.7) and the
    /// site key that signs them; none when nothing is due or they cannot be planned (logged).
    func plannedSiteHeartbeats() -> (actions: [SiteHeartbeatAction], keys: SigningKeyPair)? {
        do {
            let actions = try planner.siteHeartbeats()
            guard !actions.isEmpty else { return nil }
            return (actions, try site.identity().signing)
        } catch {
            logger.error("cannot plan site heartbeats", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Sends site heartbeats in parallel and records each answer. Returns the channels each site
    /// recorded (by nickname): those need no empty `sync` of their own.
    func send(_ heartbeats: [SiteHeartbeatAction], keys: SigningKeyPair?) async -> [SiteID: Set<String>] {
        guard let keys, !heartbeats.isEmpty else { return [:] }
        return await withTaskGroup(of: (SiteID, Set<String>).self) { group in
            for action in heartbeats { group.addTask { (action.siteID, await heartbeat(action, keys: keys)) } }
            var recorded: [SiteID: Set<String>] = [:]
            for await (siteID, channels) in group { recorded[siteID, default: []].formUnion(channels) }
            return recorded
        }
    }

    /// Sends one site heartbeat and records its answer; returns the channels (nicknames) it recorded.
    func heartbeat(_ action: SiteHeartbeatAction, keys: SigningKeyPair) async -> Set<String> {
        let clock = site.clock
        let answer = await client.heartbeat(action.body, to: action.urls, siteKeys: keys, siteURL: action.keyURL,
                                            now: { clock.nowMilliseconds() })
        let event: SiteHeartbeatEvent
        do { event = try planner.record(answer, of: action) } catch {
            logger.error("cannot record a site heartbeat", metadata: ["error": "\(error)"])
            return []
        }
        let metadata: Logger.Metadata = ["site": "\(action.urls.first ?? action.siteID.text)", "channels": "\(action.channels.count)"]
        switch event {
        case .answered(_, let backOnline, let notRecorded):
            metrics.siteHeartbeatOut(status: "answered")
            for nickname in backOnline { logger.info("location is back online", metadata: metadata.merging(["channel": "\(nickname)"]) { a, _ in a }) }
            if !notRecorded.isEmpty {
                logger.debug("site heartbeat: some reports not recorded; those channels send an empty sync",
                             metadata: metadata.merging(["not_recorded": "\(notRecorded)"]) { a, _ in a })
            }
            return Set(action.channels.filter { notRecorded[$0.nickname] == nil }.map(\.nickname))
        case .refused(let reason):
            metrics.siteHeartbeatOut(status: "refused")
            logger.debug("site heartbeat refused; each channel sends an empty sync",
                         metadata: metadata.merging(["reason": "\(reason.prefix(300))"]) { a, _ in a })
            return []
        case .unreachable(let reason, let retryAt):
            metrics.siteHeartbeatOut(status: "unreachable")
            logger.notice("site heartbeat failed; will retry", metadata: metadata.merging([
                "reason": "\(reason.prefix(300))", "retry_in_ms": "\(retryDelay(retryAt))",
            ]) { a, _ in a })
            return Set(action.channels.map(\.nickname))  // every one backs off: nothing to send now
        }
    }
}
