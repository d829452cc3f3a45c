import Logging
import NomadEngine

/// Logs what accepting a packet changed beyond its entries: the `diverged` alarm (once, at error
/// level, when it is raised) and a writer healed after a restore from backup.
enum NodeEvents {
    static func log(_ accepted: AcceptedSync, channel: String, from: String, logger: Logger) {
        switch accepted.divergence {
        case .diverged:
            logger.error("channel diverged: a clone holds the same entries by vector but another state digest; see docs/OPERATIONS.md (nomadsync channel heal)",
                         metadata: ["channel": "\(channel)", "location": "\(from)"])
        case .cleared:
            logger.notice("channel no longer diverged", metadata: ["channel": "\(channel)", "location": "\(from)"])
        case .unchanged:
            break
        }
        if let healed = accepted.healed { log(healed, channel: channel, because: "a clone reports more of this site's writer than it holds", logger: logger) }
    }

    static func log(_ healed: WriterHealReport, channel: String, because reason: String, logger: Logger) {
        logger.warning("this site reused its writer (restored from a backup?) and took a new one", metadata: [
            "channel": "\(channel)", "reason": "\(reason)", "old_writer": "\(healed.oldWriter.text)", "new_writer": "\(healed.newWriter.text)",
            "kept_through": "\(healed.keptThrough)", "reissued": "\(healed.reissued)",
        ])
    }
}
