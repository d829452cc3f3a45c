import CSodium

/// BLAKE2b (libsodium's `crypto_generichash`) in the two sizes nomadsync uses: 256 bits for
/// entry ids and digests, 512 bits for `portable_id` and `site_id`; keyed, to derive the key a
/// `key` entry's new channel seed is sealed under.
public enum Blake2b {
    /// Keyed BLAKE2b-256 of `bytes` under `key` (16–64 bytes): a secret derived from a secret.
    public static func keyedHash256(_ bytes: some Collection<UInt8>, key: SecureBytes) throws -> SecureBytes {
        Sodium.ensure()
        guard key.count >= Int(crypto_generichash_keybytes_min()), key.count <= Int(crypto_generichash_keybytes_max()) else {
            throw CryptoError.badLength(what: "BLAKE2b key", expected: Int(crypto_generichash_keybytes()), actual: key.count)
        }
        let input = Array(bytes)
        return SecureBytes(count: 32) { out in
            key.withUnsafeBytes { k in
                input.withUnsafeBufferPointer { src in
                    _ = crypto_generichash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, src.baseAddress, UInt64(src.count),
                                           k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
                }
            }
        }
    }

    /// BLAKE2b-256 of the given bytes.
    public static func hash256(_ bytes: some Collection<UInt8>) -> [UInt8] { hash(bytes, size: 32) }

    /// BLAKE2b-512 of the given bytes.
    public static func hash512(_ bytes: some Collection<UInt8>) -> [UInt8] { hash(bytes, size: 64) }

    static func hash(_ bytes: some Collection<UInt8>, size: Int) -> [UInt8] {
        Sodium.ensure()
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: size)
        input.withUnsafeBufferPointer { src in
            _ = crypto_generichash(&out, size, src.baseAddress, UInt64(src.count), nil, 0)
        }
        return out
    }
}

/// SHA-256 (libsodium's `crypto_hash_sha256`), for HTTP `Digest` headers and blob names.
public enum SHA256 {
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Sodium.ensure()
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: 32)
        input.withUnsafeBufferPointer { src in
            _ = crypto_hash_sha256(&out, src.baseAddress, UInt64(src.count))
        }
        return out
    }
}

/// SHA-256 over data that arrives in pieces (a blob streamed from disk or the network), so a
/// large file is hashed without ever being held in memory whole.
///
/// ```swift
/// var hasher = SHA256Stream()
/// hasher.update(chunk1); hasher.update(chunk2)
/// let digest = hasher.finish()
/// ```
public struct SHA256Stream {
    private var state = crypto_hash_sha256_state()

    public init() {
        Sodium.ensure()
        _ = crypto_hash_sha256_init(&state)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = crypto_hash_sha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything given so far (call once, at the end).
    public mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256_final(&state, &out)
        return out
    }
}

/// HMAC-SHA-256 (libsodium's `crypto_auth_hmacsha256`), for webhook signatures a paired server
/// checks with common tools.
public enum HMACSHA256 {
    public static func authenticate(_ message: some Collection<UInt8>, key: SecureBytes) -> [UInt8] {
        Sodium.ensure()
        let input = Array(message)
        var out = [UInt8](repeating: 0, count: 32)
        var state = crypto_auth_hmacsha256_state()
        // One extra byte so the buffer is never empty (an empty key is a valid HMAC key); it is
        // not part of the key.
        var keyBytes = key.revealedCopy() + [0]
        defer { for i in keyBytes.indices { keyBytes[i] = 0 } }
        keyBytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            _ = crypto_auth_hmacsha256_init(&state, base, buffer.count - 1)
        }
        input.withUnsafeBufferPointer { _ = crypto_auth_hmacsha256_update(&state, $0.baseAddress, UInt64($0.count)) }
        _ = crypto_auth_hmacsha256_final(&state, &out)
        return out
    }
}
