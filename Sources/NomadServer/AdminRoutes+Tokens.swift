import Foundation
import Hummingbird
import NomadCrypto
import NomadEngine
import NomadModel

/// `POST /api/v1/channels` (create or adopt) and the named tokens `/api/v1/tokens`.
extension AdminRoutes {
    /// An exported channel can be large: its log and its blobs.
    static let maxAdoptBytes = 256 * 1024 * 1024

    struct CreateRequest: Decodable {
        var nickname: String?
        var name: String?
        var adopt: Adopt?

        /// A channel exported elsewhere (`nomadsync channel export`), base64url, and its passphrase.
        struct Adopt: Decodable {
            var export: String
            var passphrase: String
        }
    }

    /// `{"nickname","name"}` creates a new channel here; `{"adopt":{"export","passphrase"}}` makes
    /// this site a clone of an exported one (as `channel import`). 201 with the channel's status.
    func registerChannelCreation(on api: RouterGroup<NodeContext>) {
        api.post("/channels") { request, context -> Response in
            try authorise(request, context)
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: Self.maxAdoptBytes) } catch {
                throw ServerError(.contentTooLarge, "the body is over the limit of \(Self.maxAdoptBytes) bytes")
            }
            let body: CreateRequest
            do { body = try JSONDecoder().decode(CreateRequest.self, from: Data(buffer.readableBytesView)) } catch {
                throw ServerError(.badRequest, "the body must be {\"nickname\": \"…\", \"name\": \"…\"} or {\"adopt\": {\"export\": \"<base64url>\", \"passphrase\": \"…\"}}")
            }
            let nickname: String
            switch (body.nickname, body.adopt) {
            case (let nick?, nil):
                nickname = try site.createChannel(nickname: nick, name: body.name).nickname
                logger.notice("channel created", metadata: ["channel": "\(nickname)"])
            case (nil, let adopt?):
                let file = try Base64URL.decode(adopt.export, what: "adopt.export")
                guard !adopt.passphrase.isEmpty else { throw ServerError(.badRequest, "adopt.passphrase is empty") }
                let report = try site.importChannel(file, passphrase: SecureBytes(Array(adopt.passphrase.utf8)))
                nickname = report.channel.nickname
                if let transport {
                    _ = await LocationAnnouncer(site: site, transport: transport).announce(report.channel)
                }
                wake.signal()
                logger.notice("channel adopted", metadata: ["channel": "\(nickname)", "entries": "\(report.replay.summary)"])
            default:
                throw ServerError(.badRequest, "give either nickname (create) or adopt (an export), not both")
            }
            return try FederationRoutes.json(try site.syncStatus(nickname: nickname), status: .created)
        }
    }

    /// `GET /api/v1/tokens`, `POST /api/v1/tokens` `{"name"}` (the token is in the answer, once),
    /// `DELETE /api/v1/tokens/{name}`.
    func registerTokens(on api: RouterGroup<NodeContext>) {
        api.get("/tokens") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try site.adminTokens())
        }
        api.post("/tokens") { request, context -> Response in
            try authorise(request, context)
            let buffer = try await request.body.collect(upTo: 4096)
            struct TokenRequest: Decodable { var name: String }
            guard let parsed = try? JSONDecoder().decode(TokenRequest.self, from: Data(buffer.readableBytesView)) else {
                throw ServerError(.badRequest, "the body must be {\"name\": \"…\"}")
            }
            let made = try site.createAdminToken(name: parsed.name)
            logger.notice("admin token created", metadata: ["name": "\(made.name)"])
            return try FederationRoutes.json(made, status: .created)
        }
        api.delete("/tokens/:name") { request, context -> Response in
            try authorise(request, context)
            let name = context.parameters.get("name") ?? ""
            try site.revokeAdminToken(name: name)
            logger.notice("admin token revoked", metadata: ["name": "\(name.prefix(64))"])
            return Response(status: .noContent)
        }
    }
}
