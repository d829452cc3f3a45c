import NomadCrypto

/// The id that names a channel everywhere:
/// `base64url_nopad(BLAKE2b-512(utf8(guid) ‖ ed25519_public_key))`, 86 characters.
public struct PortableID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let text: String

    public init(guid: String, publicKey: [UInt8]) {
        text = Base64URL.encode(Blake2b.hash512(Array(guid.utf8) + publicKey))
    }

    /// Accepts the text form after checking its shape (64 bytes of base64url).
    public init(validating text: String) throws {
        guard (try? Base64URL.decode(text, what: "portable_id", length: 64)) != nil else {
            throw ModelError.invalidField("portable_id", reason: "must be 86 characters of base64url (64 bytes)")
        }
        self.text = text
    }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public var description: String { text }
    public static func < (a: PortableID, b: PortableID) -> Bool { a.text < b.text }
}

/// The id of one running nomadsync:
/// `base64url_nopad(BLAKE2b-512(utf8(url) ‖ site_ed25519_public_key))`.
public struct SiteID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let text: String

    public init(url: String, publicKey: [UInt8]) {
        text = Base64URL.encode(Blake2b.hash512(Array(url.utf8) + publicKey))
    }

    public init(validating text: String) throws {
        guard (try? Base64URL.decode(text, what: "site_id", length: 64)) != nil else {
            throw ModelError.invalidField("site_id", reason: "must be 86 characters of base64url (64 bytes)")
        }
        self.text = text
    }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public var description: String { text }
    public static func < (a: SiteID, b: SiteID) -> Bool { a.text < b.text }
}

/// The writer id of one location: 16 random bytes as base64url (22 characters). Every change
/// entry names the origin that first wrote it; a site restored from backup takes a fresh one.
public struct OriginID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public static let byteLength = 16
    public let text: String

    public init(validating text: String) throws {
        guard (try? Base64URL.decode(text, what: "origin", length: Self.byteLength)) != nil else {
            throw ModelError.invalidField("origin", reason: "must be 22 characters of base64url (16 bytes)")
        }
        self.text = text
    }

    /// A fresh writer id.
    public static func generate(using random: any RandomSource) -> OriginID {
        // 16 bytes always encode to a valid id.
        try! OriginID(validating: Base64URL.encode(random.bytes(byteLength)))
    }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public var description: String { text }
    public static func < (a: OriginID, b: OriginID) -> Bool { a.text < b.text }
}

/// A channel guid: base64url (no padding) of 32 random bytes.
public enum ChannelGUID {
    public static func generate(using random: any RandomSource) -> String {
        Base64URL.encode(random.bytes(32))
    }
}
