import Foundation
import HTTPTypes
import Hummingbird
import NomadEngine
import NomadModel

/// The changes feed a paired server follows (docs/PROTOCOL.md §13):
/// - `GET /api/v1/channels/{nick}/changes?after=CURSOR&limit=N&wait=S&local=true&snapshot=true`
/// - `GET /api/v1/changes?after=…` — every channel, in one order
/// - `GET /api/v1/channels/{nick}/inbound?after=POSITION&limit=N` — activities kept for it
extension AdminRoutes {
    /// Long-polls stop after at most this many seconds.
    static let maxWaitSeconds = 60

    func registerFeed(on api: RouterGroup<NodeContext>) {
        api.get("/channels/:nick/changes") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let query = request.uri.queryParameters
            if query["snapshot"].map({ $0 == "true" || $0 == "1" }) ?? false {
                return try FederationRoutes.json(try site.feedSnapshot(nickname: nick))
            }
            return try FederationRoutes.json(try await page(nickname: nick, request: request))
        }
        api.get("/changes") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try await page(nickname: nil, request: request))
        }
        // Body: {"url": "…", "channel": "nick" (optional), "local": bool (optional)}.
        api.post("/webhooks") { request, context -> Response in
            try authorise(request, context)
            struct AddRequest: Decodable { var url: String; var channel: String?; var local: Bool? }
            let buffer = try await request.body.collect(upTo: 8192)
            guard let parsed = try? JSONDecoder().decode(AddRequest.self, from: Data(buffer.readableBytesView)) else {
                throw ServerError(.badRequest, "the body must be {\"url\": \"…\", \"channel\": \"nick\", \"local\": false}")
            }
            let hook = try site.addWebhook(url: parsed.url, nickname: parsed.channel, includeLocal: parsed.local ?? false)
            wake.signal()
            return try FederationRoutes.json(hook, status: .created)
        }
        api.get("/webhooks") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try site.webhooks())
        }
        api.delete("/webhooks/:id") { request, context -> Response in
            try authorise(request, context)
            guard let id = Int64(context.parameters.get("id") ?? ""), try site.removeWebhook(id: id) else {
                throw ServerError(.notFound, "no such webhook")
            }
            return try FederationRoutes.json(["removed": id])
        }
        api.get("/channels/:nick/inbound") { request, context -> Response in
            try authorise(request, context)
            let query = request.uri.queryParameters
            guard let after = Int64(query["after"].map(String.init) ?? "0"), after >= 0 else {
                throw ServerError(.badRequest, "after must be a position from an earlier answer (an integer ≥ 0)")
            }
            let limit = try Self.limit(query["limit"].map(String.init))
            return try FederationRoutes.json(try site.inbound(nickname: context.parameters.get("nick") ?? "", after: after, limit: limit))
        }
    }

    /// A page of the feed; with `wait`, held open until a change comes or the time is up. A
    /// commit of this node ends the wait at once; what another process (the CLI) wrote is seen
    /// within 100 ms.
    func page(nickname: String?, request: Request) async throws -> FeedPage {
        let query = request.uri.queryParameters
        let after = query["after"].map(String.init)
        let limit = try Self.limit(query["limit"].map(String.init))
        let local = query["local"].map { $0 == "true" || $0 == "1" } ?? false
        guard let wait = Int(query["wait"].map(String.init) ?? "0"), (0...Self.maxWaitSeconds).contains(wait) else {
            throw ServerError(.badRequest, "wait must be 0 to \(Self.maxWaitSeconds) seconds")
        }
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            let seen = site.store.commits.count
            let page = try site.changes(nickname: nickname, after: after, limit: limit, includeLocal: local)
            if !page.changes.isEmpty || ContinuousClock.now >= deadline || Task.isCancelled { return page }
            await site.store.commits.wait(after: seen, milliseconds: 100)
        }
    }

    static func limit(_ text: String?) throws -> Int {
        guard let limit = Int(text ?? "500"), (1...1000).contains(limit) else {
            throw ServerError(.badRequest, "limit must be 1 to 1000")
        }
        return limit
    }
}
