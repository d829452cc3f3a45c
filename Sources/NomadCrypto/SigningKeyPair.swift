import CSodium

/// An Ed25519 key pair (`crypto_sign`): channel keys and site keys.
///
/// ```swift
/// let keys = SigningKeyPair.generate(using: SystemRandom())
/// let sig = keys.signatureText(over: Array("https://a.example".utf8))   // "ed25519.…"
/// try SigningKeyPair.verify(signatureText: sig, over: Array("https://a.example".utf8),
///                           publicKey: keys.publicKey)
/// ```
public struct SigningKeyPair: Sendable, CustomStringConvertible {
    public static let publicKeyLength = Int(crypto_sign_publickeybytes())
    public static let seedLength = Int(crypto_sign_seedbytes())
    public static let signatureLength = Int(crypto_sign_bytes())
    /// Prefix of the text form of a signature.
    public static let signaturePrefix = "ed25519."

    /// The 32-byte public key.
    public let publicKey: [UInt8]
    /// The 32-byte seed from which the secret key is derived; this is what is stored (encrypted).
    public let seed: SecureBytes
    let secretKey: SecureBytes

    /// Derives the key pair from a 32-byte seed.
    public init(seed: SecureBytes) throws {
        Sodium.ensure()
        guard seed.count == Self.seedLength else {
            throw CryptoError.badLength(what: "Ed25519 seed", expected: Self.seedLength, actual: seed.count)
        }
        var pk = [UInt8](repeating: 0, count: Self.publicKeyLength)
        secretKey = SecureBytes(count: Int(crypto_sign_secretkeybytes())) { sk in
            seed.withUnsafeBytes { s in
                _ = crypto_sign_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                             s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        self.seed = seed
        publicKey = pk
    }

    /// A fresh key pair from the given randomness.
    public static func generate(using random: any RandomSource) -> SigningKeyPair {
        var bytes = random.bytes(seedLength)
        defer { sodium_memzero(&bytes, bytes.count) }
        // A seed of the right length cannot fail.
        return try! SigningKeyPair(seed: SecureBytes(bytes))
    }

    /// Detached Ed25519 signature over `message`.
    public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
        let m = Array(message)
        var sig = [UInt8](repeating: 0, count: Self.signatureLength)
        secretKey.withUnsafeBytes { sk in
            _ = crypto_sign_detached(&sig, nil, m, UInt64(m.count),
                                     sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return sig
    }

    /// The signature in its wire form: `ed25519.<base64url>`.
    public func signatureText(over message: some Collection<UInt8>) -> String {
        Self.signaturePrefix + Base64URL.encode(sign(message))
    }

    /// Checks a detached signature; throws `CryptoError.badSignature` when it does not verify.
    public static func verify(signature: [UInt8], over message: some Collection<UInt8>, publicKey: [UInt8]) throws {
        Sodium.ensure()
        guard publicKey.count == publicKeyLength else {
            throw CryptoError.badLength(what: "Ed25519 public key", expected: publicKeyLength, actual: publicKey.count)
        }
        guard signature.count == signatureLength else { throw CryptoError.badSignature }
        let m = Array(message)
        guard crypto_sign_verify_detached(signature, m, UInt64(m.count), publicKey) == 0 else {
            throw CryptoError.badSignature
        }
    }

    /// Checks a signature in its `ed25519.<base64url>` text form.
    public static func verify(signatureText: String, over message: some Collection<UInt8>, publicKey: [UInt8]) throws {
        guard signatureText.hasPrefix(signaturePrefix) else { throw CryptoError.badSignature }
        let raw = try Base64URL.decode(String(signatureText.dropFirst(signaturePrefix.count)), what: "signature")
        try verify(signature: raw, over: message, publicKey: publicKey)
    }

    public var description: String { "SigningKeyPair(public: \(Base64URL.encode(publicKey)), secret redacted)" }
}
