import Hummingbird
import Logging

/// The one place where errors become answers (docs/PROTOCOL.md §7.4): every error a route
/// throws, from any module, is mapped by `ServerError.from` to a real status with a JSON
/// `ErrorBody`; an unknown route is a JSON 404. On the federation listener it also counts every
/// answer to a packet (`nomadsync_packets_in_total{status}`) and to a site heartbeat
/// (`nomadsync_site_heartbeats_in_total{status}`) and logs each refusal.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = NodeContext
    /// Set on the federation listener: packets are counted there.
    let metrics: NodeMetrics?
    let logger: Logger

    func handle(_ request: Request, context: NodeContext, next: (Request, NodeContext) async throws -> Response) async throws -> Response {
        let packet = request.method == .post && (request.uri.path == "/zot" || request.uri.path == "/nomad")
        let heartbeat = request.method == .post && request.uri.path.hasSuffix("/heartbeat")
        do {
            let response = try await next(request, context)
            if packet { metrics?.packetIn(status: Int(response.status.code)) }
            if heartbeat { metrics?.siteHeartbeatIn(status: Int(response.status.code)) }
            return response
        } catch {
            let refusal = Self.map(error, request: request)
            if heartbeat { metrics?.siteHeartbeatIn(status: refusal.status.code) }
            if packet {
                metrics?.packetIn(status: refusal.status.code)
                logger.notice("refused packet", metadata: ["status": "\(refusal.status.code)", "reason": "\(refusal.message.prefix(300))"])
            }
            throw refusal
        }
    }

    static func map(_ error: any Error, request: Request) -> ServerError {
        if let error = error as? HTTPError {
            if error.status == .notFound {
                return ServerError(.notFound, "no such route: \(request.method.rawValue) \(request.uri.path.prefix(200))")
            }
            return ServerError(error.status, error.body ?? error.status.reasonPhrase)
        }
        return ServerError.from(error)
    }
}
