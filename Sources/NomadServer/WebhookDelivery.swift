import Foundation
import Logging
import NomadEngine
import NomadModel
import NomadTransport

/// Pushes the changes feed to each webhook (docs/PROTOCOL.md §13): one page at a time, in
/// order, `POST url` with the page as JSON and `X-Nomadsync-Signature: sha256=<hex HMAC>`; the
/// cursor moves only when the answer is 2xx, so nothing is skipped or reordered.
struct WebhookDelivery: Sendable {
    let site: Site
    let transport: any HTTPTransport
    let backoff: Backoff
    let logger: Logger

    /// At most 16 pages per webhook and pass; the next pass goes on.
    func runOnce() async {
        for _ in 0..<16 {
            let posts: [WebhookPost]
            do { posts = try site.dueWebhookPosts() } catch {
                return logger.error("cannot read the webhooks", metadata: ["error": "\(error)"])
            }
            guard !posts.isEmpty else { return }
            for post in posts {
                let request = OutboundRequest(method: "POST", url: post.url, headers: [
                    ("Content-Type", "application/json"), ("X-Nomadsync-Signature", post.signature),
                    ("X-Nomadsync-Cursor", String(post.cursor)),
                ], body: post.body)
                var failure: String?
                do {
                    let response = try await transport.send(request)
                    if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
                } catch {
                    failure = "\(error)"
                }
                if let failure {
                    logger.notice("webhook delivery failed; will retry", metadata: ["webhook": "\(post.webhook)", "reason": "\(failure.prefix(300))"])
                }
                try? site.webhookAnswered(post, error: failure, backoff: backoff)
            }
        }
    }
}
