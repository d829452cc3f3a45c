import CSodium

/// `crypto_secretbox` (XSalsa20-Poly1305) with a random nonce stored in front of the ciphertext:
/// how private keys are kept at rest under the host key, and how a new channel key travels in a
/// `key` entry under a key derived from the previous one.
public enum SecretBox {
    public static let keyLength = Int(crypto_secretbox_keybytes())
    public static let nonceLength = Int(crypto_secretbox_noncebytes())

    /// Returns `nonce ‖ ciphertext`.
    public static func seal(_ secret: SecureBytes, key: SecureBytes, random: any RandomSource) throws -> [UInt8] {
        Sodium.ensure()
        guard key.count == keyLength else {
            throw CryptoError.badLength(what: "secretbox key", expected: keyLength, actual: key.count)
        }
        let nonce = random.bytes(nonceLength)
        var out = [UInt8](repeating: 0, count: secret.count + Int(crypto_secretbox_macbytes()))
        secret.withUnsafeBytes { m in
            key.withUnsafeBytes { k in
                _ = crypto_secretbox_easy(&out, m.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                          UInt64(m.count), nonce,
                                          k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return nonce + out
    }

    /// Opens `nonce ‖ ciphertext` made by `seal`.
    public static func open(_ boxed: [UInt8], key: SecureBytes) throws -> SecureBytes {
        Sodium.ensure()
        guard key.count == keyLength else {
            throw CryptoError.badLength(what: "secretbox key", expected: keyLength, actual: key.count)
        }
        let mac = Int(crypto_secretbox_macbytes())
        guard boxed.count >= nonceLength + mac else { throw CryptoError.decryptionFailed(what: "stored secret") }
        let nonce = Array(boxed.prefix(nonceLength))
        let cipher = Array(boxed.dropFirst(nonceLength))
        var ok = false
        let plain = SecureBytes(count: cipher.count - mac) { out in
            key.withUnsafeBytes { k in
                ok = crypto_secretbox_open_easy(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                cipher, UInt64(cipher.count), nonce,
                                                k.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            }
        }
        guard ok else { throw CryptoError.decryptionFailed(what: "stored secret") }
        return plain
    }
}
