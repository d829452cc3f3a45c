import NomadCrypto

/// An encrypted payload addressed to one site:
/// `{"encrypted":true,"alg":"xchacha20poly1305","key":…,"iv":…,"data":…}` (base64url, no padding).
///
/// A fresh 32-byte content key encrypts the data with XChaCha20-Poly1305; the content key itself
/// travels as `crypto_box_seal` to the recipient site's X25519 key.
public struct SealedPayload: Sendable, Equatable, Codable {
    public static let algorithm = "xchacha20poly1305"

    public var encrypted: Bool
    public var alg: String
    public var key: String
    public var iv: String
    public var data: String

    public init(encrypted: Bool = true, alg: String = SealedPayload.algorithm, key: String, iv: String, data: String) {
        self.encrypted = encrypted
        self.alg = alg
        self.key = key
        self.iv = iv
        self.data = data
    }

    /// Encrypts `plaintext` for the holder of `recipientSealKey`, binding `additionalData`.
    public static func seal(_ plaintext: [UInt8], to recipientSealKey: [UInt8], additionalData: [UInt8],
                            random: any RandomSource) throws -> SealedPayload {
        let contentKey = SecureBytes(random.bytes(XChaCha20Poly1305.keyLength))
        let nonce = random.bytes(XChaCha20Poly1305.nonceLength)
        let cipher = try XChaCha20Poly1305.seal(plaintext, key: contentKey, nonce: nonce, additionalData: additionalData)
        let sealedKey = try SealKeyPair.seal(contentKey.revealedCopy(), to: recipientSealKey)
        return SealedPayload(key: Base64URL.encode(sealedKey), iv: Base64URL.encode(nonce), data: Base64URL.encodePublic(cipher))
    }

    /// Opens a payload addressed to `keys`. Fails if anything, including the binding, differs.
    public func open(with keys: SealKeyPair, additionalData: [UInt8]) throws -> [UInt8] {
        guard encrypted else { throw ModelError.invalidField("data.encrypted", reason: "nomadsync accepts only encrypted payloads") }
        guard alg == Self.algorithm else {
            throw ModelError.invalidField("data.alg", reason: "unsupported algorithm '\(alg.prefix(40))'; expected \(Self.algorithm)")
        }
        let sealedKey = try Base64URL.decode(key, what: "data.key")
        let nonce = try Base64URL.decode(iv, what: "data.iv", length: XChaCha20Poly1305.nonceLength)
        let cipher = try Base64URL.decodePublic(data, what: "data.data")  // ciphertext: public bytes
        let contentKey = try keys.open(sealedKey)
        return try XChaCha20Poly1305.open(cipher, key: contentKey, nonce: nonce, additionalData: additionalData)
    }
}
