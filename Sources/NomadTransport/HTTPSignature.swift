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

/// HTTP Signatures as Zot6 uses them (draft-cavage-http-signatures-12, `hs2019` with Ed25519), DESIGN §4:
/// ```
/// Signature: keyId="https://a.example/channel/alice#ed25519",algorithm="hs2019",
///   headers="(request-target) host date digest content-type x-zot-token",signature="<base64>"
/// Digest: SHA-256=<base64>
/// ```
/// The signing string is one `name: value` line per listed header, joined by `\n`. The
/// pseudo-headers `(request-target)`, `(created)` and `(expires)` are supported; `created` and
/// `expires` are unquoted integers (seconds since 1970) as the draft writes them.
public struct HTTPSignature: Sendable, Equatable {
    public var keyID: String
    public var algorithm: String
    public var headers: [String]
    public var signature: [UInt8]
    /// `created` and `expires` parameters, seconds since 1970, when present.
    public var created: UInt64?
    public var expires: UInt64?

    public static let postHeaders = ["(request-target)", "host", "date", "digest", "content-type", "x-zot-token"]
    public static let getHeaders = ["(request-target)", "host", "date", "x-zot-token"]
    /// The longest `Signature` header value read; longer ones are refused before parsing.
    public static let maxHeaderBytes = 8192

    public init(keyID: String, algorithm: String = "hs2019", headers: [String], signature: [UInt8],
                created: UInt64? = nil, expires: UInt64? = nil) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.headers = headers
        self.signature = signature
        self.created = created
        self.expires = expires
    }

    /// `SHA-256=<base64>` of the body.
    public static func digest(of body: some Collection<UInt8>) -> String {
        "SHA-256=" + Data(SHA256.hash(body)).base64EncodedString()
    }

    /// The string that is signed. `header` looks a header up by lower-case name.
    public static func signingString(method: String, target: String, headers names: [String], created: UInt64? = nil,
                                     expires: UInt64? = nil, header: (String) -> String?) throws -> String {
        try names.map { name in
            switch name {
            case "(request-target)": return "(request-target): \(method.lowercased()) \(target)"
            case "(created)":
                guard let created else { throw SignatureError.malformed("(created) is signed but there is no created parameter") }
                return "(created): \(created)"
            case "(expires)":
                guard let expires else { throw SignatureError.malformed("(expires) is signed but there is no expires parameter") }
                return "(expires): \(expires)"
            default:
                guard let value = header(name) else { throw SignatureError.missingHeader(name) }
                return "\(name): \(value)"
            }
        }.joined(separator: "\n")
    }

    /// Signs a request with `keys` and returns the `Signature` header value.
    public static func sign(method: String, target: String, headers names: [String], keyID: String,
                            keys: SigningKeyPair, header: (String) -> String?) throws -> String {
        let text = try signingString(method: method, target: target, headers: names, header: header)
        return HTTPSignature(keyID: keyID, headers: names, signature: keys.sign(Array(text.utf8))).headerValue
    }

    public var headerValue: String {
        var out = "keyId=\"\(keyID)\",algorithm=\"\(algorithm)\""
        if let created { out += ",created=\(created)" }
        if let expires { out += ",expires=\(expires)" }
        return out + ",headers=\"\(headers.joined(separator: " "))\",signature=\"\(Data(signature).base64EncodedString())\""
    }

    /// Parses a `Signature` header value: `name="value"` pairs (or bare integers for `created`
    /// and `expires`) separated by commas. Bounded: at most 8 KiB and 16 parameters.
    public init(parsing value: String) throws {
        guard value.utf8.count <= Self.maxHeaderBytes else { throw SignatureError.malformed("longer than \(Self.maxHeaderBytes) bytes") }
        var fields: [String: String] = [:]
        var rest = Substring(value)
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " || $0 == "," })
            guard let eq = rest.firstIndex(of: "=") else { break }
            guard fields.count < 16 else { throw SignatureError.malformed("too many parameters") }
            let name = rest[..<eq].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: eq)...]
            if rest.first == "\"" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "\"") else { throw SignatureError.malformed("unterminated value of \(name.prefix(40))") }
                fields[name] = String(rest[..<close])
                rest = rest[rest.index(after: close)...]
            } else if name == "created" || name == "expires" {
                let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
                fields[name] = String(digits)
                rest = rest[digits.endIndex...]
            } else {
                throw SignatureError.malformed("value of \(name.prefix(40)) is not quoted")
            }
        }
        guard let keyID = fields["keyId"] else { throw SignatureError.malformed("no keyId") }
        guard let sig = fields["signature"], let bytes = Data(base64Encoded: sig) else { throw SignatureError.malformed("no base64 signature") }
        let algorithm = fields["algorithm"] ?? "hs2019"
        guard algorithm == "hs2019" || algorithm == "ed25519" else {
            throw SignatureError.malformed("algorithm '\(algorithm.prefix(40))' is not supported; use hs2019 with Ed25519")
        }
        func seconds(_ name: String) throws -> UInt64? {
            guard let text = fields[name] else { return nil }
            // At most 12 digits: far beyond any real date, and no overflow anywhere after.
            guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ (48...57).contains($0) }), let n = UInt64(text) else {
                throw SignatureError.malformed("\(name) must be a whole number of seconds")
            }
            return n
        }
        let headers = (fields["headers"] ?? "(created)").lowercased().split(separator: " ").map(String.init)
        guard headers.count <= 32 else { throw SignatureError.malformed("too many signed headers") }
        self.init(keyID: keyID, algorithm: algorithm, headers: headers, signature: Array(bytes),
                  created: try seconds("created"), expires: try seconds("expires"))
    }

    /// Checks that every header in `required` is covered, then the signature itself.
    public func verify(method: String, target: String, required: [String], publicKey: [UInt8],
                       header: (String) -> String?) throws {
        for name in required where !headers.contains(name) {
            throw SignatureError.malformed("the signature does not cover \(name)")
        }
        let text = try Self.signingString(method: method, target: target, headers: headers, created: created, expires: expires,
                                          header: header)
        do {
            try SigningKeyPair.verify(signature: signature, over: Array(text.utf8), publicKey: publicKey)
        } catch {
            throw SignatureError.badSignature
        }
    }

    /// Checks `created` and `expires` against `now` (milliseconds): `created` may not lie more
    /// than `window` ahead, and an `expires` in the past ends the signature.
    public func checkTimes(now: UInt64, window: UInt64) throws {
        let nowSeconds = now / 1000
        if let created, created > nowSeconds, created - nowSeconds > window / 1000 {
            throw SignatureError.staleDate("created=\(created) lies \(created - nowSeconds) s in the future")
        }
        if let expires, expires < nowSeconds {
            throw SignatureError.staleDate("the signature expired \(nowSeconds - expires) s ago (expires=\(expires))")
        }
    }
}
