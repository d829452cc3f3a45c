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
/// Every chunk but the last holds exactly 64 KiB of plaintext; the last holds 0…64 KiB.
/// `Writer` and `Reader` seal and open a container a chunk at a time, so neither side holds
/// more than a chunk of a file of any size.
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

    /// Encrypts `plaintext` under `passphrase`, in memory (see `Writer` for a stream).
    public static func seal(_ plaintext: [UInt8], passphrase: SecureBytes, strength: Strength = .moderate,
                            random: any RandomSource) throws -> [UInt8] {
        var out: [UInt8] = []
        let writer = try Writer(passphrase: passphrase, strength: strength, random: random) { out += $0 }
        try plaintext.withUnsafeBytes { try writer.write($0) }
        try writer.finish()
        return out
    }

    /// Decrypts a container held in memory. Throws `.wrongPassphrase` or `.damaged(…)`; returns
    /// nothing partial. (`Reader` opens one chunk at a time.)
    public static func open(_ file: [UInt8], passphrase: SecureBytes) throws -> [UInt8] {
        try Reader(passphrase: passphrase, source: .bytes(file)).readAll()
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

        /// The header's length in bytes.
        static var length: Int { magic.count + 1 + 8 + 8 + saltLength + 16 + headerLength }
    }

    /// Reads the header, refusing implausible key-derivation costs (a hostile file must not make
    /// this site allocate gigabytes).
    package static func header(of file: [UInt8]) throws -> Header {
        Sodium.ensure()
        guard file.count >= Header.length, Array(file.prefix(4)) == magic else {
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

    /// The chunks after the header, decrypted with `key` (the key derivation already done).
    package static func decryptChunks(_ file: [UInt8], header: Header, key: SecureBytes) throws -> [UInt8] {
        try Reader(key: key, source: .bytes(file)).readAll()
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
