import CSodium

/// An X25519 key pair (`crypto_box`) that receives sealed payloads: only its holder can open
/// what `SealKeyPair.seal(_:to:)` produced for its public key.
public struct SealKeyPair: Sendable, CustomStringConvertible {
    public static let publicKeyLength = Int(crypto_box_publickeybytes())
    public static let seedLength = Int(crypto_box_seedbytes())

    public let publicKey: [UInt8]
    /// The 32-byte seed the key pair is derived from; stored encrypted at rest.
    public let seed: SecureBytes
    let secretKey: SecureBytes

    public init(seed: SecureBytes) throws {
        Sodium.ensure()
        guard seed.count == Self.seedLength else {
            throw CryptoError.badLength(what: "X25519 seed", expected: Self.seedLength, actual: seed.count)
        }
        var pk = [UInt8](repeating: 0, count: Self.publicKeyLength)
        secretKey = SecureBytes(count: Int(crypto_box_secretkeybytes())) { sk in
            seed.withUnsafeBytes { s in
                _ = crypto_box_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                            s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        self.seed = seed
        publicKey = pk
    }

    public static func generate(using random: any RandomSource) -> SealKeyPair {
        var bytes = random.bytes(seedLength)
        defer { sodium_memzero(&bytes, bytes.count) }
        return try! SealKeyPair(seed: SecureBytes(bytes))
    }

    /// Anonymous sealed box (`crypto_box_seal`) of `message` for `recipientPublicKey`.
    public static func seal(_ message: some Collection<UInt8>, to recipientPublicKey: [UInt8]) throws -> [UInt8] {
        Sodium.ensure()
        guard recipientPublicKey.count == publicKeyLength else {
            throw CryptoError.badLength(what: "X25519 public key", expected: publicKeyLength, actual: recipientPublicKey.count)
        }
        let m = Array(message)
        var out = [UInt8](repeating: 0, count: m.count + Int(crypto_box_sealbytes()))
        guard crypto_box_seal(&out, m, UInt64(m.count), recipientPublicKey) == 0 else {
            throw CryptoError.operationFailed("crypto_box_seal")
        }
        return out
    }

    /// Opens a sealed box addressed to this key pair.
    public func open(_ sealed: [UInt8]) throws -> SecureBytes {
        let overhead = Int(crypto_box_sealbytes())
        guard sealed.count >= overhead else { throw CryptoError.decryptionFailed(what: "sealed box") }
        var ok = false
        let plain = SecureBytes(count: sealed.count - overhead) { out in
            secretKey.withUnsafeBytes { sk in
                ok = crypto_box_seal_open(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                          sealed, UInt64(sealed.count), publicKey,
                                          sk.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            }
        }
        guard ok else { throw CryptoError.decryptionFailed(what: "sealed box") }
        return plain
    }

    public var description: String { "SealKeyPair(public: \(Base64URL.encode(publicKey)), secret redacted)" }
}
