import CSodium

extension PassphraseContainer {
    /// Seals a plaintext handed over piece by piece: a chunk is sealed and passed to `sink` as
    /// soon as 64 KiB are buffered and more follow, so memory stays at one chunk whatever the
    /// plaintext's length. The output is byte for byte what `seal` makes of the same plaintext.
    ///
    /// ```swift
    /// let writer = try PassphraseContainer.Writer(passphrase: pass, random: SystemRandom()) { try handle.write(contentsOf: $0) }
    /// try writer.write(headerBytes)
    /// try writer.finish()
    /// ```
    public final class Writer {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        private var buffer: [UInt8] = []
        private var additionalData: [UInt8]
        private let sink: ([UInt8]) throws -> Void
        private var finished = false
        /// Bytes handed to `sink` so far (header included).
        public private(set) var bytesWritten = 0

        /// Derives the key (Argon2id at `strength`) and writes the container's header to `sink`.
        public init(passphrase: SecureBytes, strength: Strength = .moderate, random: any RandomSource,
                    sink: @escaping ([UInt8]) throws -> Void) throws {
            Sodium.ensure()
            self.sink = sink
            let (ops, mem) = strength.limits
            let salt = random.bytes(saltLength)
            let key = try deriveKey(passphrase: passphrase, salt: salt, ops: ops, mem: mem)
            var header = [UInt8](repeating: 0, count: headerLength)
            var pushState = crypto_secretstream_xchacha20poly1305_state()
            let status = key.withUnsafeBytes { k -> Int32 in
                guard let base = k.baseAddress else { return -1 }
                return crypto_secretstream_xchacha20poly1305_init_push(&pushState, &header, base.assumingMemoryBound(to: UInt8.self))
            }
            guard status == 0 else { throw CryptoError.operationFailed("secretstream init") }
            state = pushState
            withUnsafeMutableBytes(of: &pushState) { sodium_memzero($0.baseAddress, $0.count) }
            additionalData = magic + [version] + be64(ops) + be64(mem) + salt + check(key: key) + header
            buffer.reserveCapacity(chunkSize)
            try emit(additionalData)
        }

        deinit { wipe() }

        /// Adds plaintext bytes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard !finished else { throw CryptoError.operationFailed("write after the container was finished") }
            var offset = 0
            while offset < bytes.count {
                // A full buffer is sealed only once more bytes arrive: the last chunk must carry FINAL.
                if buffer.count == chunkSize { try push(final: false) }
                let take = min(chunkSize - buffer.count, bytes.count - offset)
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
            }
        }

        /// Adds plaintext bytes.
        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        /// Seals what is buffered as the FINAL chunk (possibly empty). Nothing can follow.
        public func finish() throws {
            guard !finished else { return }
            try push(final: true)
            finished = true
            wipe()
        }

        private func push(final: Bool) throws {
            let tag = UInt8(final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message())
            var cipher = [UInt8](repeating: 0, count: buffer.count + Int(crypto_secretstream_xchacha20poly1305_abytes()))
            var cipherLength: UInt64 = 0
            let ad = additionalData
            let status = crypto_secretstream_xchacha20poly1305_push(&state, &cipher, &cipherLength, buffer, UInt64(buffer.count),
                                                                    ad, UInt64(ad.count), tag)
            guard status == 0, let length = UInt32(exactly: cipherLength) else { throw CryptoError.operationFailed("secretstream push") }
            additionalData = []
            for i in buffer.indices { buffer[i] = 0 }
            buffer.removeAll(keepingCapacity: true)
            try emit(be32(length) + cipher.prefix(Int(length)))
        }

        private func emit(_ bytes: [UInt8]) throws {
            try sink(bytes)
            bytesWritten += bytes.count
        }

        private func wipe() {
            for i in buffer.indices { buffer[i] = 0 }
            withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) }
        }
    }
}
