import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport

/// The routes other sites call: `POST /zot` (alias `/nomad`), the sync pull, discovery and
/// WebFinger. Every refusal is a real HTTP status and applies nothing.
struct FederationRoutes: Sendable {
    let site: Site
    let check: InboundCheck
    let metrics: NodeMetrics
    let logger: Logger
    var registry: CodecRegistry = .standard
    /// Fetches a connection's discovery document when it sends a `refresh`.
    var discoveryClient: DiscoveryClient?
    /// Orders the sync packets of one channel and site that are here at the same time.
    var arrivals = SyncArrivals()

    func register(on router: some RouterMethods<NodeContext>) {
        for path in ["/zot", "/nomad"] {
            router.post(RouterPath(path)) { request, _ in try await receive(request) }
        }
        router.post("/heartbeat") { request, _ in try await receiveHeartbeat(request) }
        router.get("/sync/:portable_id/entries") { request, context in try await servePage(request, context: context) }
        router.get("/channel/:nick") { request, context in try discovery(request, context: context) }
        router.get("/.well-known/webfinger") { request, _ in try webfinger(request) }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, type: String = "application/json") throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try WireJSON.encode(value))))
    }

    // MARK: POST /zot

    /// HTTP checks → engine open → verify the signature against the key the engine names →
    /// engine accept (token, replay, report: one transaction) → answer. Errors become statuses
    /// in `ErrorMiddleware`.
    func receive(_ request: Request) async throws -> Response {
        try check.contentType(request)
        let body = try await check.body(request)
        // The encoding decides first: a message of an unknown encoding is ignored whatever its
        // signature scheme (Zot6), and nothing of it is applied or recorded.
        let envelope: Envelope
        switch try registry.decode(Data(body), limits: site.limits) {
        case .ignored(let encoding, let type): return try ignored(body, encoding: encoding, type: type)
        case .envelope(let decoded): envelope = decoded
        }
        guard envelope.type == .sync else {
            return try await receiveMessage(envelope, signature: try check.signature(request, body: body), request: request, body: body)
        }
        let ticket = await arrivals.arrive(channel: envelope.sender.text, site: envelope.siteID.text)
        do {
            let response = try await receiveSync(envelope, ticket: ticket, request: request, body: body)
            await arrivals.leave(ticket)
            return response
        } catch {
            await arrivals.leave(ticket)
            throw error
        }
    }

    /// A sync packet: open, verify, check its entries, then (in the order of its entries among the
    /// packets of its channel and site that are here too) accept.
    func receiveSync(_ envelope: Envelope, ticket: UInt64, request: Request, body: [UInt8]) async throws -> Response {
        let signature = try check.signature(request, body: body)
        let opened = try site.openSync(envelope)
        try check.verify(signature, request: request, location: opened.sender, channelKey: opened.signingKey,
                         required: HTTPSignature.postHeaders)
        await arrivals.opened(ticket, entries: opened.data.entries)
        let checked = try site.checkSync(opened)  // beside the writer, before this packet's turn
        await arrivals.turn(ticket)
        let accepted = try site.acceptSync(checked, token: InboundCheck.header(request, "x-zot-token") ?? "",
                                           tokenWindow: check.configuration.tokenWindowMilliseconds)
        return try applied(accepted, opened: opened, body: body)
    }

    /// `rekey`, `refresh`, `purge`, `activity`, `response`: engine open → (refresh from a
    /// connection: fetch and verify its discovery document) → verify the signature with the
    /// sender's key → engine accept (token and effect: one transaction) → answer.
    func receiveMessage(_ envelope: Envelope, signature: HTTPSignature, request: Request, body: [UInt8]) async throws -> Response {
        let opened = try site.openMessage(envelope)
        var document: VerifiedDiscovery?
        if let location = opened.cloneLocation {
            try check.verify(signature, request: request, location: location, channelKey: opened.senderKey, required: HTTPSignature.postHeaders)
        } else {
            try signature.verify(method: request.method.rawValue, target: check.signedTarget(request), required: HTTPSignature.postHeaders,
                                 publicKey: opened.senderKey) { InboundCheck.header(request, $0) }
            if opened.type == .refresh { document = try await fetchSender(of: opened, keyID: signature.keyID, siteID: envelope.siteID) }
        }
        let receipt = try site.acceptMessage(opened, token: InboundCheck.header(request, "x-zot-token") ?? "",
                                             tokenWindow: check.configuration.tokenWindowMilliseconds, document: document)
        metrics.messageIn(type: opened.type.rawValue)
        logger.info("message accepted", metadata: ["type": "\(opened.type.rawValue)", "from": "\(opened.message.channel.text.prefix(16))…",
                                                   "status": "\(receipt.status)"])
        return try Self.json(DeliveryAnswer(deliveryReport: [
            DeliveryReport(location: try site.identity().url, sender: opened.message.channel.text,
                           recipient: opened.recipients.first?.portableID.text ?? "", name: "", messageID: Self.messageID(body),
                           status: receipt.status, date: site.clock.nowText()),
        ]))
    }

    // MARK: POST /heartbeat

    /// A site heartbeat (docs/PROTOCOL.md §7.7): HTTP checks → engine open (this site, sealed
    /// payload, reports, the sender's site key from a channel it is a location of) → verify the
    /// signature with the site key → engine accept (token and every report: one transaction).
    func receiveHeartbeat(_ request: Request) async throws -> Response {
        try check.contentType(request)
        let body = try await check.body(request)
        let heartbeat = try WireJSON.decode(SiteHeartbeat.self, from: Data(body), what: "site heartbeat", maxDepth: site.limits.maxJSONDepth)
        let signature = try check.signature(request, body: body)
        let opened = try site.openSiteHeartbeat(heartbeat)
        guard signature.keyID == opened.keyID else {
            throw ServerError(.unauthorized, "the signer '\(signature.keyID.prefix(200))' is not the sending site (expected \(opened.keyID))")
        }
        try signature.verify(method: request.method.rawValue, target: check.signedTarget(request), required: HTTPSignature.postHeaders,
                             publicKey: opened.siteKey) { InboundCheck.header(request, $0) }
        let accepted = try site.acceptSiteHeartbeat(opened, token: InboundCheck.header(request, "x-zot-token") ?? "",
                                                    tokenWindow: check.configuration.tokenWindowMilliseconds)
        for nickname in accepted.diverged {
            logger.error("channel diverged: a clone holds the same entries by vector but another state digest; see docs/OPERATIONS.md (nomadsync channel heal)",
                         metadata: ["channel": "\(nickname)", "location": "\(opened.sender.url)"])
        }
        for (nickname, report) in accepted.healed {
            NodeEvents.log(report, channel: nickname, because: "a clone reports more of this site's writer than it holds", logger: logger)
        }
        return try Self.json(SiteHeartbeatAnswer(channels: accepted.statuses))
    }

    /// A connection's `refresh`: its discovery document, fetched at the URL its key id names
    /// (`<id_url>#ed25519`), must be of the sender and list the signing location at the
    /// envelope's site, each location signed by the channel key.
    func fetchSender(of opened: OpenedMessage, keyID: String, siteID: SiteID) async throws -> VerifiedDiscovery {
        guard keyID.hasSuffix("#ed25519"), let client = discoveryClient else {
            throw ServerError(.unauthorized, "a refresh must be signed as <id_url>#ed25519 so its discovery document can be fetched")
        }
        let document: VerifiedDiscovery
        do { document = try await client.fetch(String(keyID.dropLast("#ed25519".count))) } catch {
            throw ServerError(.unauthorized, "the sender's discovery document cannot be checked: \(error)")
        }
        guard document.portableID == opened.message.channel, document.location(signingAs: keyID, siteID: siteID) != nil else {
            throw ServerError(.unauthorized, "the discovery document at the key id is not of the sender, or does not list the signing location at its site")
        }
        return document
    }

    func ignored(_ body: [UInt8], encoding: String, type: MessageType?) throws -> Response {
        logger.info("ignored a message with an unknown encoding", metadata: ["encoding": "\(encoding.prefix(60))", "type": "\(type?.rawValue ?? "?")"])
        return try Self.json(DeliveryAnswer(deliveryReport: [
            DeliveryReport(location: try site.identity().url, sender: "", recipient: "", name: "", messageID: Self.messageID(body),
                           status: "unknown encoding ignored", date: site.clock.nowText()),
        ]))
    }

    func applied(_ accepted: AcceptedSync, opened: OpenedSync, body: [UInt8]) throws -> Response {
        let channel = opened.channel
        metrics.entriesApplied(accepted.report.applied)
        metrics.entriesReceived(opened.data.entries.count, via: "push")
        if accepted.report.applied > 0 || accepted.report.held > 0 {
            logger.info("sync applied", metadata: ["channel": "\(channel.nickname)", "from": "\(opened.sender.url)", "report": "\(accepted.report.summary)"])
        }
        NodeEvents.log(accepted, channel: channel.nickname, from: opened.sender.url, logger: logger)
        return try Self.json(DeliveryAnswer(deliveryReport: [
            DeliveryReport(location: try site.identity().url, sender: channel.portableID.text, recipient: channel.portableID.text,
                           name: channel.name, messageID: Self.messageID(body), status: "sync applied: \(accepted.report.summary)",
                           date: site.clock.nowText()),
        ]))
    }

    /// A packet's message id in delivery reports: BLAKE2b-256 of its body, base64url.
    static func messageID(_ body: [UInt8]) -> String { Base64URL.encode(Blake2b.hash256(body)) }

    // MARK: GET /sync/{portable_id}/entries

    func servePage(_ request: Request, context: NodeContext) async throws -> Response {
        let signature = try check.signature(request, body: nil)
        let pid = try PortableID(validating: context.parameters.get("portable_id") ?? "")
        // Any id the channel had: a clone that has not applied a rekey yet still signs with its
        // former key, and the page is sealed to that clone's site key all the same.
        guard let named = try site.channel(named: pid) else {
            throw ServerError(.forbidden, "channel \(pid.text) is not hosted on this site")
        }
        let channel = named.channel
        let query = request.uri.queryParameters
        guard let originText = query["origin"] else { throw ServerError(.badRequest, "the origin query parameter is required") }
        let origin = try OriginID(validating: String(originText))
        guard let after = UInt64(query["after"].map(String.init) ?? "0"), after <= VersionVector.maxSeq else {
            throw ServerError(.badRequest, "after must be an integer from 0 to 2^63-1")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "500"), limit >= 1 else {
            throw ServerError(.badRequest, "limit must be a positive integer")
        }
        // The requester is the location whose id_url signed the request.
        guard let requester = try site.liveLocations(of: channel).first(where: { "\($0.idURL)#ed25519" == signature.keyID }) else {
            throw ServerError(.forbidden, "'\(signature.keyID.prefix(200))' is not a live location of this channel")
        }
        try check.verify(signature, request: request, location: requester, channelKey: named.publicKey, required: HTTPSignature.getHeaders)
        try site.acceptPull(channel: channel, from: requester.siteID, token: InboundCheck.header(request, "x-zot-token") ?? "",
                            window: check.configuration.tokenWindowMilliseconds)
        return try Self.json(try site.servePage(channel: channel, as: pid, to: requester, origin: origin, after: after, limit: limit,
                                                maxBytes: check.configuration.packetBytes))
    }

    // MARK: Discovery

    func discovery(_ request: Request, context: NodeContext) throws -> Response {
        let nick = context.parameters.get("nick") ?? ""
        let accept = InboundCheck.header(request, "accept") ?? ""
        let wantsActor = accept.contains("application/activity+json")
            || (accept.contains("application/ld+json") && accept.contains("https://www.w3.org/ns/activitystreams"))
        guard wantsActor || accept.isEmpty || accept.contains("application/x-zot+json") || accept.contains("application/json")
            || accept.contains("*/*") else {
            throw ServerError(.notAcceptable, "this URL serves application/x-zot+json and application/activity+json")
        }
        guard (try? site.channel(nickname: nick)) != nil else { throw ServerError(.notFound, "no channel '\(nick.prefix(64))' on this site") }
        if wantsActor { return try Self.json(try site.actor(nickname: nick), type: "application/activity+json") }
        return try Self.json(try site.discovery(nickname: nick), type: "application/x-zot+json")
    }

    func webfinger(_ request: Request) throws -> Response {
        guard let resource = request.uri.queryParameters["resource"].map(String.init), !resource.isEmpty else {
            throw ServerError(.badRequest, "the resource query parameter is required (acct:nick@host)")
        }
        guard let document = try site.webfinger(resource: resource) else {
            throw ServerError(.notFound, "no channel '\(resource.prefix(200))' on this site")
        }
        return try Self.json(document, type: "application/jrd+json")
    }
}
