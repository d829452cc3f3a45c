import Foundation
import NomadCrypto

/// Builds the signed requests of DESIGN §4: a `POST {site}/zot` carrying an envelope, and a
/// `GET` (the sync pull), each signed by the channel key with `keyId = <id_url>#ed25519`; and the
/// site heartbeat, signed by the site key with `keyId = <site url>#ed25519`.
public struct RequestSigner: Sendable {
    public let keys: SigningKeyPair
    /// The `keyId` of the `Signature` header.
    public let keyID: String
    public let random: any RandomSource

    /// Signs as a channel at the sending site: `keyId = <idURL>#ed25519`.
    public init(keys: SigningKeyPair, idURL: String, random: any RandomSource) {
        self.init(keys: keys, keyID: "\(idURL)#ed25519", random: random)
    }

    public init(keys: SigningKeyPair, keyID: String, random: any RandomSource) {
        self.keys = keys
        self.keyID = keyID
        self.random = random
    }

    /// `POST url` with a zot envelope body.
    public func post(url: String, body: [UInt8], now: UInt64, contentType: String = "application/x-zot+json") throws -> OutboundRequest {
        let (host, target) = try Self.split(url)
        let headers: [(String, String)] = [
            ("Host", host), ("Date", HTTPDate.format(milliseconds: now)), ("Digest", HTTPSignature.digest(of: body)),
            ("Content-Type", contentType), ("X-Zot-Token", Base64URL.encode(random.bytes(24))),
        ]
        return try signed(OutboundRequest(method: "POST", url: url, headers: headers, body: body), host: host, target: target,
                          names: HTTPSignature.postHeaders)
    }

    /// A signed `GET url`.
    public func get(url: String, now: UInt64) throws -> OutboundRequest {
        let (host, target) = try Self.split(url)
        let headers: [(String, String)] = [
            ("Host", host), ("Date", HTTPDate.format(milliseconds: now)), ("X-Zot-Token", Base64URL.encode(random.bytes(24))),
            ("Accept", "application/json"),
        ]
        return try signed(OutboundRequest(method: "GET", url: url, headers: headers), host: host, target: target,
                          names: HTTPSignature.getHeaders)
    }

    func signed(_ request: OutboundRequest, host: String, target: String, names: [String]) throws -> OutboundRequest {
        var request = request
        let value = try HTTPSignature.sign(method: request.method, target: target, headers: names, keyID: keyID, keys: keys) {
            request.header($0)
        }
        request.headers.append(("Signature", value))
        return request
    }

    /// `host[:port]` and the request target (path and query) of an absolute URL.
    public static func split(_ url: String) throws -> (host: String, target: String) {
        guard let components = URLComponents(string: url), let hostName = components.host, !hostName.isEmpty else {
            throw TransportError(url: url, reason: "not an absolute URL")
        }
        let host = components.port.map { "\(hostName):\($0)" } ?? hostName
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        return (host, target)
    }
}
