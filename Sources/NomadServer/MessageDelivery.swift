import Foundation
import Logging
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport

/// Carries out the queued `rekey`, `refresh` and `purge` messages (docs/PROTOCOL.md §10): each
/// goes to one location of the channel, or to every live location of a connection, whose
/// discovery document is fetched and verified first when this site has no fresh copy. A site
/// that acknowledges, or refuses for good (4xx), is done; the others are retried after the
/// backoff until the message's lifetime (3 days) ends.
struct MessageDelivery: Sendable {
    let site: Site
    let client: SyncClient
    let discovery: DiscoveryClient
    let backoff: Backoff
    let metrics: NodeMetrics
    let logger: Logger

    /// Sends every message that is due, one after another.
    func runOnce() async {
        let due: [QueuedMessage]
        do { due = try site.dueMessages() } catch {
            return logger.error("cannot read the message queue", metadata: ["error": "\(error)"])
        }
        for message in due { await deliver(message) }
    }

    func deliver(_ message: QueuedMessage) async {
        let metadata: Logger.Metadata = ["type": "\(message.type.rawValue)", "message": "\(message.id)"]
        do {
            var route = try site.route(message)
            if case .discover(let url) = route, case .connection(let id, _) = message.target {
                do {
                    try site.learnConnection(try await discovery.fetch(url), for: id)
                } catch {
                    metrics.messageOut(type: message.type.rawValue, status: "unreachable")
                    logger.notice("cannot find a connection's locations; will retry", metadata: metadata.merging(["reason": "\(error)"]) { a, _ in a })
                    return try site.recordPosts(message, done: [], failures: ["\(error)"], backoff: backoff)
                }
                route = try site.route(message)
            }
            guard case .post(let posts) = route, !posts.isEmpty else { return }
            var done: [SiteID] = []
            var failures: [String] = []
            let clock = site.clock
            for post in posts {
                switch await client.post(post.body, to: post.location.baseURLs, keys: post.keys, keyURL: post.keyURL,
                                         now: { clock.nowMilliseconds() }) {
                case .answered:
                    done.append(post.location.siteID)
                    metrics.messageOut(type: message.type.rawValue, status: "acked")
                case .refused(let refusal) where refusal.status < 500:
                    done.append(post.location.siteID)
                    metrics.messageOut(type: message.type.rawValue, status: "refused")
                    logger.notice("a site refused a message for good", metadata: metadata.merging([
                        "channel": "\(post.channel)", "to": "\(post.location.url)", "reason": "\(refusal.description.prefix(300))",
                    ]) { a, _ in a })
                case .refused(let refusal):
                    failures.append("\(post.location.url): \(refusal.description.prefix(200))")
                    metrics.messageOut(type: message.type.rawValue, status: "refused")
                case .unreachable(let reason):
                    failures.append("\(post.location.url): \(reason.prefix(200))")
                    metrics.messageOut(type: message.type.rawValue, status: "unreachable")
                }
            }
            try site.recordPosts(message, done: done, failures: failures, backoff: backoff)
        } catch {
            logger.error("cannot deliver a message", metadata: metadata.merging(["error": "\(error)"]) { a, _ in a })
            try? site.recordPosts(message, done: [], failures: ["\(error)"], backoff: backoff)
        }
    }
}
