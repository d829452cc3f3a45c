import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport

/// The inviting site's side of an online bootstrap (docs/PROTOCOL.md §11), on the federation
/// listener: `POST /clone/claim` (the ticket's proof and the new site's card; answers the sealed
/// identity) and `GET /clone/{ticket}/entries` (pages of the log, signed by the claimant's site
/// key, sealed to it).
struct CloneRoutes: Sendable {
    let site: Site
    let check: InboundCheck
    let logger: Logger

    func register(on router: some RouterMethods<NodeContext>) {
        router.post("/clone/claim") { request, _ in try await claim(request) }
        router.get("/clone/:ticket/entries") { request, context in try await page(request, context: context) }
    }

    func claim(_ request: Request) async throws -> Response {
        let media = (InboundCheck.header(request, "content-type") ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "application/json" else { throw ServerError(.unsupportedMediaType, "Content-Type must be application/json") }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 64 * 1024) } catch {
            throw ServerError(.contentTooLarge, "a claim is at most 64 KiB")
        }
        let claim = try WireJSON.decode(CloneClaim.self, from: Data(buffer.readableBytesView), what: "clone claim", maxDepth: 8)
        let grant = try site.claimClone(claim)
        logger.notice("clone ticket claimed", metadata: ["channel": "\(grant.nickname)", "by": "\(claim.card.url.prefix(200))"])
        return try FederationRoutes.json(grant)
    }

    func page(_ request: Request, context: NodeContext) async throws -> Response {
        let signature = try check.signature(request, body: nil)
        let ticket = context.parameters.get("ticket") ?? ""
        let card = try site.cloneClaimant(ticket: ticket)
        guard signature.keyID == "\(card.url)#ed25519" else {
            throw ServerError(.unauthorized, "the signer '\(signature.keyID.prefix(200))' is not the site that claimed the ticket")
        }
        let key = try Base64URL.decode(card.sitekey, what: "sitekey", length: 32)
        try signature.verify(method: request.method.rawValue, target: check.signedTarget(request), required: HTTPSignature.getHeaders,
                             publicKey: key) { InboundCheck.header(request, $0) }
        let query = request.uri.queryParameters
        guard let originText = query["origin"] else { throw ServerError(.badRequest, "the origin query parameter is required") }
        let origin = try OriginID(validating: String(originText))
        guard let after = UInt64(query["after"].map(String.init) ?? "0"), after <= VersionVector.maxSeq else {
            throw ServerError(.badRequest, "after must be an integer from 0 to 2^63-1")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "500"), limit >= 1 else {
            throw ServerError(.badRequest, "limit must be a positive integer")
        }
        try site.acceptClonePull(token: InboundCheck.header(request, "x-zot-token") ?? "", window: check.configuration.tokenWindowMilliseconds)
        return try FederationRoutes.json(try site.serveClonePage(ticket: ticket, origin: origin, after: after, limit: limit,
                                                                  maxBytes: check.configuration.packetBytes))
    }
}
