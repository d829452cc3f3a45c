import CSodium

extension PassphraseContainer {
    /// Where a container's bytes come from: `read(n)` returns up to `n` bytes, fewer only at
    /// the end, and none once the end is reached.
    public struct Source {
        public let read: (Int) throws -> [UInt8]

        public init(read: @escaping (Int) throws -> [UInt8]) { self.read = read }

        /// A container held in memory.
        public static func bytes(_ file: [UInt8]) -> Source {
            var offset = 0
            return Source { count in
                let end = offset + min(count, file.count - offset)
                defer { offset = end }
                return Array(file[offset..<end])
            }
        }

        /// Exactly `count` bytes, or fewer only when the source ends first.
        func read(upTo count: Int) throws -> [UInt8] {
            var out = try read(count)
            while out.count < count {
                let more = try read(count - out.count)
                if more.isEmpty { break }
                out += more
            }
            return out
        }
    }

    /// Opens a container one chunk at a time: `next()` returns each chunk's plaintext after it
    /// verifies, and nil once the FINAL chunk has been read and nothing follows it. A file cut
    /// short or with bytes after FINAL throws at the end, so a caller must not act on what it read
    /// before `next()` returned nil (an import keeps everything in one uncommitted transaction).
    public final class Reader {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        private let source: Source
        private var additionalData: [UInt8]
        private var finished = false
        private var ended = false

        /// Reads and bounds the header, derives the key and checks the passphrase.
        /// Throws `.wrongPassphrase` or `.damaged(…)`.
        public convenience init(passphrase: SecureBytes, source: Source) throws {
            let header = try PassphraseContainer.header(of: try source.read(upTo: Header.length))
            let key = try deriveKey(passphrase: passphrase, salt: header.salt, ops: header.ops, mem: header.mem)
            guard sodium_memcmp(check(key: key), header.check, 16) == 0 else { throw CryptoError.wrongPassphrase }
            try self.init(header: header, key: key, source: source)
        }

        /// Opens with a key already derived (the fuzzer's way in, skipping Argon2id).
        package convenience init(key: SecureBytes, source: Source) throws {
            let header = try PassphraseContainer.header(of: try source.read(upTo: Header.length))
            try self.init(header: header, key: key, source: source)
        }

        private init(header: Header, key: SecureBytes, source: Source) throws {
            self.source = source
            additionalData = header.prefix
            var pullState = crypto_secretstream_xchacha20poly1305_state()
            let status = key.withUnsafeBytes { k -> Int32 in
                guard let base = k.baseAddress, k.count == Int(crypto_secretstream_xchacha20poly1305_keybytes()) else { return -1 }
                return crypto_secretstream_xchacha20poly1305_init_pull(&pullState, header.streamHeader, base.assumingMemoryBound(to: UInt8.self))
            }
            state = pullState
            withUnsafeMutableBytes(of: &pullState) { sodium_memzero($0.baseAddress, $0.count) }
            guard status == 0 else { throw CryptoError.damaged("bad stream header") }
        }

        deinit { withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) } }

        /// The next chunk's plaintext (at most 64 KiB), or nil after the verified end.
        public func next() throws -> [UInt8]? {
            guard !ended else { return nil }
            let lengthBytes = try source.read(upTo: 4)
            if finished {
                guard lengthBytes.isEmpty else { throw CryptoError.damaged("data after the final chunk") }
                ended = true
                return nil
            }
            guard !lengthBytes.isEmpty else { throw CryptoError.damaged("the file is truncated (no final chunk)") }
            guard lengthBytes.count == 4 else { throw CryptoError.damaged("truncated chunk length") }
            let length = Int(readBE32(lengthBytes, 0))
            let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
            guard length >= overhead, length <= chunkSize + overhead else { throw CryptoError.damaged("implausible chunk length \(length)") }
            let cipher = try source.read(upTo: length)
            guard cipher.count == length else { throw CryptoError.damaged("truncated chunk") }
            var out = [UInt8](repeating: 0, count: length)
            var outLength: UInt64 = 0
            var tag: UInt8 = 0
            let ad = additionalData
            guard crypto_secretstream_xchacha20poly1305_pull(&state, &out, &outLength, &tag, cipher, UInt64(cipher.count),
                                                              ad, UInt64(ad.count)) == 0 else {
                throw CryptoError.damaged("a chunk fails authentication")
            }
            additionalData = []
            finished = tag == UInt8(crypto_secretstream_xchacha20poly1305_tag_final())
            out.removeLast(length - Int(clamping: outLength))
            return out
        }

        /// Every remaining chunk, joined (a container held in memory).
        func readAll() throws -> [UInt8] {
            var plain: [UInt8] = []
            while let chunk = try next() { plain += chunk }
            return plain
        }
    }
}
