import CSodium

/// A passphrase-encrypted container: Argon2id (`crypto_pwhash`) derives a key, and
/// `crypto_secretstream_xchacha20poly1305` encrypts the content in 64 KiB chunks, the last one
/// tagged FINAL so truncation is detected. Used for channel export files.
///
/// Layout (all integers big-endian):
/// ```
/// "NSPW" | version u8 = 1 | opslimit u64 | memlimit u64 | salt 16 | check 16 | stream header 24
/// then chunks: length u32 | ciphertext (the first chunk authenticates every header byte)
/// ```
/// `check` is the first 16 bytes of BLAKE2b keyed with the derived key over a fixed label, so a
/// wrong passphrase is told apart from a damaged file.
public enum PassphraseContainer {
    /// Argon2id cost. `moderate` is the default for files that hold private keys.
    public enum Strength: String, Sendable, CaseIterable {
        case interactive, moderate, sensitive

        var limits: (ops: UInt64, mem: UInt64) {
            switch self {
            case .interactive:
                return (UInt64(crypto_pwhash_opslimit_interactive()), UInt64(crypto_pwhash_memlimit_interactive()))
            case .moderate:
                return (UInt64(crypto_pwhash_opslimit_moderate()), UInt64(crypto_pwhash_memlimit_moderate()))
            case .sensitive:
                return (UInt64(crypto_pwhash_opslimit_sensitive()), UInt64(crypto_pwhash_memlimit_sensitive()))
            }
        }
    }

    static let magic: [UInt8] = Array("NSPW".utf8)
    static let version: UInt8 = 1
    static let chunkSize = 64 * 1024
    static let saltLength = Int(crypto_pwhash_saltbytes())
    static let headerLength = Int(crypto_secretstream_xchacha20poly1305_headerbytes())
    static let checkLabel: [UInt8] = Array("nomadsync passphrase check".utf8)
    /// Refuse absurd cost parameters from a hostile file before allocating gigabytes.
    static let maxMemlimit: UInt64 = 1 << 31

    /// Encrypts `plaintext` under `passphrase`.
    public static func seal(_ plaintext: [UInt8], passphrase: SecureBytes, strength: Strength = .moderate,
                            random: any RandomSource) throws -> [UInt8] {
        Sodium.ensure()
        let (ops, mem) = strength.limits
        let salt = random.bytes(saltLength)
        let key = try deriveKey(passphrase: passphrase, salt: salt, ops: ops, mem: mem)
        var out = magic + [version]
        out += be64(ops) + be64(mem) + salt + check(key: key)
        var state = crypto_secretstream_xchacha20poly1305_state()
        var header = [UInt8](repeating: 0, count: headerLength)
        key.withUnsafeBytes { k in
            _ = crypto_secretstream_xchacha20poly1305_init_push(&state, &header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        out += header
        let prefix = out
        var offset = 0
        var first = true
        repeat {
            let end = min(offset + chunkSize, plaintext.count)
            let chunk = Array(plaintext[offset..<end])
            let final = end == plaintext.count
            let tag = UInt8(final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message())
            let ad = first ? prefix : []
            var cipher = [UInt8](repeating: 0, count: chunk.count + Int(crypto_secretstream_xchacha20poly1305_abytes()))
            var cipherLength: UInt64 = 0
            _ = crypto_secretstream_xchacha20poly1305_push(&state, &cipher, &cipherLength, chunk, UInt64(chunk.count),
                                                            ad, UInt64(ad.count), tag)
            out += be32(UInt32(cipherLength)) + cipher.prefix(Int(cipherLength))
            offset = end
            first = false
        } while offset < plaintext.count
        return out
    }

    /// The fixed-size start of a container, read and bounded before any key is derived.
    package struct Header {
        package var ops: UInt64
        package var mem: UInt64
        package var salt: [UInt8]
        package var check: [UInt8]
        package var streamHeader: [UInt8]
        /// Every header byte: the first chunk authenticates them.
        package var prefix: [UInt8]
    }

    /// Reads the header, refusing implausible key-derivation costs (a hostile file must not make
    /// this site allocate gigabytes).
    package static func header(of file: [UInt8]) throws -> Header {
        Sodium.ensure()
        let fixed = magic.count + 1 + 8 + 8 + saltLength + 16 + headerLength
        guard file.count >= fixed, Array(file.prefix(4)) == magic else {
            throw CryptoError.damaged("not a nomadsync encrypted file")
        }
        guard file[4] == version else { throw CryptoError.damaged("unsupported container version \(file[4])") }
        var cursor = 5
        let ops = readBE64(file, cursor); cursor += 8
        let mem = readBE64(file, cursor); cursor += 8
        guard ops >= 1, ops <= 64, mem >= 8192, mem <= maxMemlimit else {
            throw CryptoError.damaged("implausible key-derivation parameters")
        }
        let salt = Array(file[cursor..<cursor + saltLength]); cursor += saltLength
        let storedCheck = Array(file[cursor..<cursor + 16]); cursor += 16
        let streamHeader = Array(file[cursor..<cursor + headerLength]); cursor += headerLength
        return Header(ops: ops, mem: mem, salt: salt, check: storedCheck, streamHeader: streamHeader, prefix: Array(file[0..<cursor]))
    }

    /// Decrypts a container. Throws `.wrongPassphrase` or `.damaged(…)`; returns nothing partial.
    public static func open(_ file: [UInt8], passphrase: SecureBytes) throws -> [UInt8] {
        let header = try header(of: file)
        let key = try deriveKey(passphrase: passphrase, salt: header.salt, ops: header.ops, mem: header.mem)
        guard sodium_memcmp(check(key: key), header.check, 16) == 0 else { throw CryptoError.wrongPassphrase }
        return try decryptChunks(file, header: header, key: key)
    }

    /// The chunks after the header, decrypted with `key` (the key derivation already done).
    package static func decryptChunks(_ file: [UInt8], header: Header, key: SecureBytes) throws -> [UInt8] {
        var cursor = header.prefix.count
        let prefix = header.prefix
        var state = crypto_secretstream_xchacha20poly1305_state()
        let initStatus = key.withUnsafeBytes { k -> Int32 in
            guard let base = k.baseAddress, k.count == Int(crypto_secretstream_xchacha20poly1305_keybytes()) else { return -1 }
            return crypto_secretstream_xchacha20poly1305_init_pull(&state, header.streamHeader, base.assumingMemoryBound(to: UInt8.self))
        }
        guard initStatus == 0 else { throw CryptoError.damaged("bad stream header") }
        var plain = [UInt8]()
        var first = true
        var finished = false
        while cursor < file.count {
            guard !finished else { throw CryptoError.damaged("data after the final chunk") }
            guard cursor + 4 <= file.count else { throw CryptoError.damaged("truncated chunk length") }
            let length = Int(readBE32(file, cursor)); cursor += 4
            guard length >= Int(crypto_secretstream_xchacha20poly1305_abytes()), length <= file.count - cursor else {
                throw CryptoError.damaged("truncated chunk")
            }
            let cipher = Array(file[cursor..<cursor + length]); cursor += length
            var out = [UInt8](repeating: 0, count: length)
            var outLength: UInt64 = 0
            var tag: UInt8 = 0
            let ad = first ? prefix : []
            guard crypto_secretstream_xchacha20poly1305_pull(&state, &out, &outLength, &tag, cipher, UInt64(cipher.count),
                                                              ad, UInt64(ad.count)) == 0 else {
                throw CryptoError.damaged("a chunk fails authentication")
            }
            plain += out.prefix(Int(clamping: outLength))
            finished = tag == UInt8(crypto_secretstream_xchacha20poly1305_tag_final())
            first = false
        }
        guard finished else { throw CryptoError.damaged("the file is truncated (no final chunk)") }
        return plain
    }

    static func deriveKey(passphrase: SecureBytes, salt: [UInt8], ops: UInt64, mem: UInt64) throws -> SecureBytes {
        guard passphrase.count > 0 else { throw CryptoError.operationFailed("an empty passphrase is not allowed") }
        var status: Int32 = 0
        let key = SecureBytes(count: Int(crypto_secretstream_xchacha20poly1305_keybytes())) { out in
            passphrase.withUnsafeBytes { p in
                status = crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                                       p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count),
                                       salt, ops, Int(mem), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw CryptoError.operationFailed("Argon2id key derivation (out of memory?)") }
        return key
    }

    static func check(key: SecureBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        key.withUnsafeBytes { k in
            _ = crypto_generichash(&out, 16, checkLabel, UInt64(checkLabel.count),
                                   k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        }
        return out
    }

    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }
    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    static func readBE64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(b[at + $1]) } }
    static func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(b[at + $1]) } }
}
