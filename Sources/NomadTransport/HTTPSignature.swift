import Foundation
import NomadCrypto

/// Why a request's signature was refused. Each case says what to fix.
public enum SignatureError: Error, Equatable, CustomStringConvertible {
    case missingHeader(String)
    case malformed(String)
    case digestMismatch
    case staleDate(String)
    case badSignature

    public var description: String {
        switch self {
        case .missingHeader(let name): return "the request has no \(name) header"
        case .malformed(let why): return "malformed Signature header: \(why)"
        case .digestMismatch: return "the Digest header does not match the body"
        case .staleDate(let why): return "the Date header is outside the accepted window: \(why)"
        case .badSignature: return "the HTTP signature does not verify with the sender's key"
        }
    }
}

/// HTTP Signatures as Zot6 uses them (draft-cavage, `hs2019` with Ed25519), DESIGN §4:
/// ```
/// Signature: keyId="https://a.example/channel/alice#ed25519",algorithm="hs2019",
///   headers="(request-target) host date digest content-type x-zot-token",signature="<base64>"
/// Digest: SHA-256=<base64>
/// ```
/// The signing string is one `name: value` line per listed header, joined by `\n`.
public struct HTTPSignature: Sendable, Equatable {
    public var keyID: String
    public var algorithm: String
    public var headers: [String]
    public var signature: [UInt8]

    public static let postHeaders = ["(request-target)", "host", "date", "digest", "content-type", "x-zot-token"]
    public static let getHeaders = ["(request-target)", "host", "date", "x-zot-token"]

    public init(keyID: String, algorithm: String = "hs2019", headers: [String], signature: [UInt8]) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.headers = headers
        self.signature = signature
    }

    /// `SHA-256=<base64>` of the body.
    public static func digest(of body: some Collection<UInt8>) -> String {
        "SHA-256=" + Data(SHA256.hash(body)).base64EncodedString()
    }

    /// The string that is signed. `header` looks a header up by lower-case name.
    public static func signingString(method: String, target: String, headers names: [String],
                                     header: (String) -> String?) throws -> String {
        try names.map { name in
            if name == "(request-target)" { return "(request-target): \(method.lowercased()) \(target)" }
            guard let value = header(name) else { throw SignatureError.missingHeader(name) }
            return "\(name): \(value)"
        }.joined(separator: "\n")
    }

    /// Signs a request with `keys` and returns the `Signature` header value.
    public static func sign(method: String, target: String, headers names: [String], keyID: String,
                            keys: SigningKeyPair, header: (String) -> String?) throws -> String {
        let text = try signingString(method: method, target: target, headers: names, header: header)
        return HTTPSignature(keyID: keyID, headers: names, signature: keys.sign(Array(text.utf8))).headerValue
    }

    public var headerValue: String {
        "keyId=\"\(keyID)\",algorithm=\"\(algorithm)\",headers=\"\(headers.joined(separator: " "))\",signature=\"\(Data(signature).base64EncodedString())\""
    }

    /// Parses a `Signature` header value.
    public init(parsing value: String) throws {
        var fields: [String: String] = [:]
        var rest = Substring(value)
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " || $0 == "," })
            guard let eq = rest.firstIndex(of: "=") else { break }
            let name = rest[..<eq].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: eq)...]
            guard rest.first == "\"" else { throw SignatureError.malformed("value of \(name) is not quoted") }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else { throw SignatureError.malformed("unterminated value of \(name)") }
            fields[name] = String(rest[..<close])
            rest = rest[rest.index(after: close)...]
        }
        guard let keyID = fields["keyId"] else { throw SignatureError.malformed("no keyId") }
        guard let sig = fields["signature"], let bytes = Data(base64Encoded: sig) else { throw SignatureError.malformed("no base64 signature") }
        let algorithm = fields["algorithm"] ?? "hs2019"
        guard algorithm == "hs2019" || algorithm == "ed25519" else {
            throw SignatureError.malformed("algorithm '\(algorithm.prefix(40))' is not supported; use hs2019 with Ed25519")
        }
        let headers = (fields["headers"] ?? "date").lowercased().split(separator: " ").map(String.init)
        self.init(keyID: keyID, algorithm: algorithm, headers: headers, signature: Array(bytes))
    }

    /// Checks that every header in `required` is covered, then the signature itself.
    public func verify(method: String, target: String, required: [String], publicKey: [UInt8],
                       header: (String) -> String?) throws {
        for name in required where !headers.contains(name) {
            throw SignatureError.malformed("the signature does not cover \(name)")
        }
        let text = try Self.signingString(method: method, target: target, headers: headers, header: header)
        do {
            try SigningKeyPair.verify(signature: signature, over: Array(text.utf8), publicKey: publicKey)
        } catch {
            throw SignatureError.badSignature
        }
    }
}
