import CSodium

/// XChaCha20-Poly1305 (IETF) authenticated encryption with additional data — the `alg` of every
/// sealed payload (`xchacha20poly1305`).
public enum XChaCha20Poly1305 {
    public static let keyLength = Int(crypto_aead_xchacha20poly1305_ietf_keybytes())
    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_abytes())

    /// Encrypts `plaintext`, binding `additionalData` (authenticated, not encrypted).
    public static func seal(_ plaintext: some Collection<UInt8>, key: SecureBytes, nonce: [UInt8],
                            additionalData: [UInt8]) throws -> [UInt8] {
        Sodium.ensure()
        try check(key: key, nonce: nonce)
        let m = Array(plaintext)
        var out = [UInt8](repeating: 0, count: m.count + tagLength)
        var outLength: UInt64 = 0
        key.withUnsafeBytes { k in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &out, &outLength, m, UInt64(m.count), additionalData, UInt64(additionalData.count),
                nil, nonce, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return Array(out.prefix(Int(outLength)))
    }

    /// Decrypts and authenticates; any change to ciphertext, nonce, key or additional data fails.
    public static func open(_ ciphertext: [UInt8], key: SecureBytes, nonce: [UInt8],
                            additionalData: [UInt8]) throws -> [UInt8] {
        Sodium.ensure()
        try check(key: key, nonce: nonce)
        guard ciphertext.count >= tagLength else { throw CryptoError.decryptionFailed(what: "payload") }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var outLength: UInt64 = 0
        let status = key.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &outLength, nil, ciphertext, UInt64(ciphertext.count),
                additionalData, UInt64(additionalData.count), nonce,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw CryptoError.decryptionFailed(what: "payload") }
        return Array(out.prefix(Int(outLength)))
    }

    private static func check(key: SecureBytes, nonce: [UInt8]) throws {
        guard key.count == keyLength else {
            throw CryptoError.badLength(what: "AEAD key", expected: keyLength, actual: key.count)
        }
        guard nonce.count == nonceLength else {
            throw CryptoError.badLength(what: "AEAD nonce", expected: nonceLength, actual: nonce.count)
        }
    }
}
