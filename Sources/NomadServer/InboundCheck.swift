import Foundation
import HTTPTypes
import Hummingbird
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport

/// The HTTP-level checks of DESIGN §4 that come before a message is opened: content type,
/// size, digest, date window, and a well-formed `Signature` header. The signature itself is
/// verified later, once the sender's location (and so the key id it must use) is known.
struct InboundCheck {
    let configuration: NodeConfiguration
    let clock: any WallClock
    /// This site's own authority (`host[:port]` of its URL), which the signed `Host` must name.
    let authority: String
    /// The path of this site's URL (`/nomad` for `https://hub.example/nomad`), or empty.
    var pathPrefix = ""

    /// The request target as the sender signed it: with the site URL's path, even when a
    /// reverse proxy took it off before passing the request on.
    func signedTarget(_ request: Request) -> String {
        let target = request.uri.string
        guard !pathPrefix.isEmpty, target != pathPrefix, !target.hasPrefix(pathPrefix + "/"), !target.hasPrefix(pathPrefix + "?") else {
            return target
        }
        return pathPrefix + target
    }

    static func header(_ request: Request, _ name: String) -> String? {
        // HTTP/1.1's Host header arrives as the :authority pseudo-header in HTTPTypes.
        if name.lowercased() == "host" { return request.head.authority ?? request.headers[.init("host")!] }
        guard let field = HTTPField.Name(name) else { return nil }
        return request.headers[field]
    }

    /// `Content-Type` must be `application/x-zot+json` (parameters allowed).
    func contentType(_ request: Request) throws {
        let value = Self.header(request, "content-type") ?? ""
        let media = value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard media == "application/x-zot+json" else {
            throw ServerError(.unsupportedMediaType, "Content-Type must be application/x-zot+json, not '\(value.prefix(80))'")
        }
    }

    /// Collects the body, refusing anything over the limit with 413 before reading it all.
    func body(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.limits.maxBodyBytes
        if let length = Self.header(request, "content-length").flatMap(Int.init), length > limit {
            throw ServerError(.contentTooLarge, "the body is \(length) bytes; the limit is \(limit)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw ServerError(.contentTooLarge, "the body is over the limit of \(limit) bytes")
        }
        return Array(buffer.readableBytesView)
    }

    /// Parses the `Signature` header and checks `Date` and (with a body) `Digest`.
    func signature(_ request: Request, body: [UInt8]?) throws -> HTTPSignature {
        guard let value = Self.header(request, "signature") else { throw SignatureError.missingHeader("Signature") }
        let signature = try HTTPSignature(parsing: value)
        if let body {
            guard let digest = Self.header(request, "digest") else { throw SignatureError.missingHeader("Digest") }
            guard digest == HTTPSignature.digest(of: body) else { throw SignatureError.digestMismatch }
        }
        guard let dateText = Self.header(request, "date") else { throw SignatureError.missingHeader("Date") }
        guard let date = HTTPDate.parse(dateText) else { throw SignatureError.staleDate("'\(dateText.prefix(60))' is not an HTTP date") }
        let now = clock.nowMilliseconds()
        let distance = date > now ? date - now : now - date
        guard distance <= configuration.dateWindowMilliseconds else {
            throw SignatureError.staleDate("'\(dateText.prefix(60))' is \(distance / 1000) s from this site's clock (limit \(configuration.dateWindowMilliseconds / 1000) s)")
        }
        try signature.checkTimes(now: now, window: configuration.dateWindowMilliseconds)
        try checkHost(request)
        guard Self.header(request, "x-zot-token")?.isEmpty == false else { throw SignatureError.missingHeader("X-Zot-Token") }
        return signature
    }

    /// The `Host` the request was signed for must be this site (a request signed for another
    /// site cannot be replayed here). A default port may be written or left out.
    func checkHost(_ request: Request) throws {
        let given = (Self.header(request, "host") ?? "").lowercased()
        let own = authority.lowercased()
        guard given == own || Self.withoutDefaultPort(given) == own else {
            throw SignatureError.malformed("the request was signed for host '\(given.prefix(100))', not this site (\(own))")
        }
    }

    static func withoutDefaultPort(_ host: String) -> String {
        for suffix in [":80", ":443"] where host.hasSuffix(suffix) { return String(host.dropLast(suffix.count)) }
        return host
    }

    /// The signer must be the envelope's sender: the key id names the channel at the sending
    /// location (`<id_url>#ed25519`), and the signature verifies with the channel's key.
    func verify(_ signature: HTTPSignature, request: Request, location: Location, channelKey: [UInt8], required: [String]) throws {
        guard signature.keyID == "\(location.idURL)#ed25519" else {
            throw ServerError(.unauthorized, "the signer '\(signature.keyID.prefix(200))' is not the envelope's sender (expected \(location.idURL)#ed25519)")
        }
        try signature.verify(method: request.method.rawValue, target: signedTarget(request), required: required,
                             publicKey: channelKey) { Self.header(request, $0) }
    }
}
