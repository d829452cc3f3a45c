import Logging
import NomadCrypto
import NomadEngine
import NomadModel

extension DeliveryWorker {
    /// Sends the site heartbeats that are due (one request per other site, in parallel) before
    /// the channels' own packets, so a channel whose report a site recorded sends it no empty
    /// `sync` in the same pass; one the site did not record still gets one.
    func sendSiteHeartbeats() async {
        let actions: [SiteHeartbeatAction]
        let keys: SigningKeyPair
        do {
            actions = try planner.siteHeartbeats()
            guard !actions.isEmpty else { return }
            keys = try site.identity().signing
        } catch {
            return logger.error("cannot plan site heartbeats", metadata: ["error": "\(error)"])
        }
        await withTaskGroup(of: Void.self) { group in
            for action in actions { group.addTask { await heartbeat(action, keys: keys) } }
        }
    }

    func heartbeat(_ action: SiteHeartbeatAction, keys: SigningKeyPair) async {
        let clock = site.clock
        let answer = await client.heartbeat(action.body, to: action.urls, siteKeys: keys, siteURL: action.keyURL,
                                            now: { clock.nowMilliseconds() })
        let event: SiteHeartbeatEvent
        do { event = try planner.record(answer, of: action) } catch {
            return logger.error("cannot record a site heartbeat", metadata: ["error": "\(error)"])
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
        case .refused(let reason):
            metrics.siteHeartbeatOut(status: "refused")
            logger.debug("site heartbeat refused; each channel sends an empty sync",
                         metadata: metadata.merging(["reason": "\(reason.prefix(300))"]) { a, _ in a })
        case .unreachable(let reason, let retryAt):
            metrics.siteHeartbeatOut(status: "unreachable")
            logger.notice("site heartbeat failed; will retry", metadata: metadata.merging([
                "reason": "\(reason.prefix(300))", "retry_in_ms": "\(retryDelay(retryAt))",
            ]) { a, _ in a })
        }
    }
}
