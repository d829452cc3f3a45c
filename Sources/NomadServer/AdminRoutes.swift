import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NomadEngine
import NomadModel
import NomadTransport

/// The local admin API (DESIGN §10) for the paired server and the channel owner, on its own
/// listener, with the bearer token from `DATA/admin.token`.
///
/// - `GET /api/v1/channels` — the channels hosted here.
/// - `GET /api/v1/channels/{nick}` — status: each location's state, lag, outbox, digest, vector.
/// - `POST /api/v1/channels/{nick}/changes` — `{"changes":[{"entity","key","op","body"}]}` (or a
///   bare array), appended in one transaction and queued for every other clone.
struct AdminRoutes: Sendable {
    let site: Site
    let token: String
    let logger: Logger
    let wake: DeliveryWake
    /// Reaches the inviting site for `POST /api/v1/clones/accept`.
    var transport: (any HTTPTransport)?

    struct AppendAnswer: Encodable {
        var success = true
        var entries: [ChangeEntry]
        var digest: String
    }

    func register(on router: Router<NodeContext>) {
        let api = router.group("/api/v1")
        api.get("/channels") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try site.channels().map { try site.syncStatus(nickname: $0.nickname) })
        }
        api.get("/channels/:nick") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try site.syncStatus(nickname: context.parameters.get("nick") ?? ""))
        }
        api.get("/channels/:nick/actor") { request, context -> Response in
            try authorise(request, context)
            return try FederationRoutes.json(try site.actor(nickname: context.parameters.get("nick") ?? ""), type: "application/activity+json")
        }
        api.post("/channels/:nick/changes") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: site.limits.maxBodyBytes) } catch {
                throw ServerError(.contentTooLarge, "the body is over the limit of \(site.limits.maxBodyBytes) bytes")
            }
            let changes = try ChangeBatch.parse(Data(buffer.readableBytesView), limits: site.limits)
            // The same Idempotency-Key again (within 24 h) answers the first batch's entries.
            // The digest alone, not the whole status: this answer is on the hot path.
            let (entries, digest) = if let key = InboundCheck.header(request, "idempotency-key") {
                (try site.append(nickname: nick, changes, idempotencyKey: key), try site.channel(nickname: nick).digest)
            } else {
                try site.appendReportingDigest(nickname: nick, changes)
            }
            wake.signal()  // the worker delivers them now, not at the next poll
            logger.info("local changes appended", metadata: ["channel": "\(nick)", "count": "\(entries.count)"])
            return try FederationRoutes.json(AppendAnswer(entries: entries, digest: digest))
        }
        // ?everywhere=true purges the channel on every clone; without it this location retires.
        api.delete("/channels/:nick") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let everywhere = request.uri.queryParameters["everywhere"].map { $0 == "true" || $0 == "1" } ?? false
            if everywhere {
                let outcome = try site.purge(nickname: nick)
                wake.signal()
                logger.notice("channel deleted everywhere", metadata: ["channel": "\(nick)", "pending_locations": "\(outcome.pendingLocations)"])
                return try FederationRoutes.json(outcome)
            }
            let location = try site.retire(nickname: nick)
            wake.signal()
            logger.notice("location retired", metadata: ["channel": "\(nick)"])
            return try FederationRoutes.json(location)
        }
        // Body: empty, or {"update": true|false}.
        api.post("/channels/:nick/rekey") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let buffer = try await request.body.collect(upTo: 4096)
            var update = false
            if buffer.readableBytes > 0 {
                struct RekeyRequest: Decodable { var update: Bool? }
                guard let parsed = try? JSONDecoder().decode(RekeyRequest.self, from: Data(buffer.readableBytesView)) else {
                    throw ServerError(.badRequest, "the body must be empty or {\"update\": true|false}")
                }
                update = parsed.update ?? false
            }
            let outcome = try site.rekey(nickname: nick, update: update)
            wake.signal()
            logger.notice("channel rekeyed", metadata: ["channel": "\(nick)", "update": "\(update)", "portable_id": "\(outcome.newPortableID.text)"])
            return try FederationRoutes.json(outcome)
        }
        // Body: {"to": "<the target clone's URL>"}.
        api.post("/channels/:nick/migrate") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let buffer = try await request.body.collect(upTo: 4096)
            struct MigrateRequest: Decodable { var to: String }
            guard let parsed = try? JSONDecoder().decode(MigrateRequest.self, from: Data(buffer.readableBytesView)) else {
                throw ServerError(.badRequest, "the body must be {\"to\": \"<URL of the target clone>\"}")
            }
            let outcome = try site.migrate(nickname: nick, to: parsed.to)
            wake.signal()
            logger.notice("channel migrated away", metadata: ["channel": "\(nick)", "to": "\(outcome.to)"])
            return try FederationRoutes.json(outcome)
        }
        registerClones(on: api)
        registerChannelCreation(on: api)
        registerTokens(on: api)
        registerFeed(on: api)
        // The body is the blob's bytes, streamed to disk and hashed as they come.
        api.put("/channels/:nick/blobs") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            _ = try site.channel(nickname: nick)
            let writer = try site.blobs.writer(maxBytes: Site.maxBlobBytes)
            do {
                for try await buffer in request.body { try buffer.readableBytesView.withUnsafeBytes { try writer.write($0) } }
            } catch {
                writer.abandon()
                throw ServerError(.contentTooLarge, "the blob was not stored: \(error)")
            }
            let (hex, size) = try writer.finish()
            let reference = FileReference(hex: hex, size: size, name: nil)
            logger.info("blob stored", metadata: ["channel": "\(nick)", "blob": "\(hex.prefix(16))…", "bytes": "\(size)"])
            return try FederationRoutes.json(reference, status: .created)
        }
    }

    /// `POST /api/v1/channels/{nick}/clones/invite` (body empty or `{"expires_seconds": n}`) →
    /// the ticket; `POST /api/v1/clones/accept` (`{"ticket": "…"}`) → the finished bootstrap.
    func registerClones(on api: RouterGroup<NodeContext>) {
        api.post("/channels/:nick/clones/invite") { request, context -> Response in
            try authorise(request, context)
            let nick = context.parameters.get("nick") ?? ""
            let buffer = try await request.body.collect(upTo: 4096)
            var seconds: UInt64 = 3600
            if buffer.readableBytes > 0 {
                struct InviteRequest: Decodable { var expiresSeconds: UInt64?
                    enum CodingKeys: String, CodingKey { case expiresSeconds = "expires_seconds" } }
                guard let parsed = try? JSONDecoder().decode(InviteRequest.self, from: Data(buffer.readableBytesView)) else {
                    throw ServerError(.badRequest, "the body must be empty or {\"expires_seconds\": n}")
                }
                seconds = parsed.expiresSeconds ?? 3600
            }
            let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
            guard !overflow else { throw ServerError(.badRequest, "expires_seconds is too large") }
            let invitation = try site.inviteClone(nickname: nick, lifetimeMilliseconds: ms)
            logger.notice("clone ticket issued", metadata: ["channel": "\(nick)", "expires": "\(invitation.expires)"])
            return try FederationRoutes.json(invitation)
        }
        api.post("/clones/accept") { request, context -> Response in
            try authorise(request, context)
            let buffer = try await request.body.collect(upTo: 8192)
            struct AcceptRequest: Decodable { var ticket: String }
            guard let parsed = try? JSONDecoder().decode(AcceptRequest.self, from: Data(buffer.readableBytesView)) else {
                throw ServerError(.badRequest, "the body must be {\"ticket\": \"nomadsync-ticket:…\"}")
            }
            let ticket = try CloneTicket(parsing: parsed.ticket)
            guard let transport else { throw ServerError(.internalServerError, "this node has no outbound transport") }
            let logger = self.logger
            do {
                let outcome = try await CloneBootstrapper(site: site, transport: transport).run(ticket) { progress in
                    logger.info("bootstrap progress", metadata: ["channel": "\(progress.channel)", "entries": "\(progress.entries)/\(progress.total)"])
                }
                wake.signal()
                logger.notice("this site is a clone now", metadata: ["channel": "\(outcome.channel)", "pulled": "\(outcome.pulled)"])
                return try FederationRoutes.json(outcome)
            } catch let error as BootstrapError {
                throw ServerError(.badGateway, error.description)
            }
        }
    }

    /// The token in `DATA/admin.token` or a live named token (`nomadsync token create`); the
    /// comparison with the file's token takes the same time whatever the token, and named tokens
    /// are looked up by hash. (The admin API has its own listener, a Unix socket or loopback port.)
    func authorise(_ request: Request, _ context: NodeContext) throws {
        let value = InboundCheck.header(request, "authorization") ?? ""
        guard value.hasPrefix("Bearer ") else {
            throw ServerError(.unauthorized, "an Authorization: Bearer token is required (DATA/admin.token or nomadsync token create)")
        }
        let presented = String(value.dropFirst(7))
        let given = Array(presented.utf8)
        let expected = Array(token.utf8)
        var diff = given.count ^ expected.count
        for i in 0..<min(given.count, expected.count) { diff |= Int(given[i] ^ expected[i]) }
        if diff == 0 { return }
        guard try site.adminTokenName(for: presented) != nil else {
            throw ServerError(.unauthorized, "the bearer token is wrong or revoked")
        }
    }
}
