import Testing
@testable import NomadCrypto

@Suite struct SealedBoxTests {
    @Test func sealedBoxOpensOnlyForItsRecipient() throws {
        let alice = SealKeyPair.generate(using: SystemRandom())
        let mallory = SealKeyPair.generate(using: SystemRandom())
        let sealed = try SealKeyPair.seal(Array("content key".utf8), to: alice.publicKey)
        #expect(try alice.open(sealed).revealedCopy() == Array("content key".utf8))
        #expect(throws: CryptoError.self) { try mallory.open(sealed) }
    }

    @Test func alteredSealedBoxFails() throws {
        let alice = SealKeyPair.generate(using: SystemRandom())
        var sealed = try SealKeyPair.seal([1, 2, 3], to: alice.publicKey)
        sealed[sealed.count - 1] ^= 1
        #expect(throws: CryptoError.self) { try alice.open(sealed) }
    }
}

@Suite struct AEADTests {
    let key = SecureBytes(SystemRandom().bytes(XChaCha20Poly1305.keyLength))
    let nonce = SystemRandom().bytes(XChaCha20Poly1305.nonceLength)

    @Test func roundTripsWithTheSameAdditionalData() throws {
        let c = try XChaCha20Poly1305.seal(Array("entries".utf8), key: key, nonce: nonce, additionalData: [9, 9])
        #expect(try XChaCha20Poly1305.open(c, key: key, nonce: nonce, additionalData: [9, 9]) == Array("entries".utf8))
    }

    @Test func otherAdditionalDataFails() throws {
        let c = try XChaCha20Poly1305.seal(Array("entries".utf8), key: key, nonce: nonce, additionalData: [9, 9])
        #expect(throws: CryptoError.self) { try XChaCha20Poly1305.open(c, key: key, nonce: nonce, additionalData: [9, 8]) }
    }

    @Test func alteredCiphertextFails() throws {
        var c = try XChaCha20Poly1305.seal(Array("entries".utf8), key: key, nonce: nonce, additionalData: [])
        c[0] ^= 0x80
        #expect(throws: CryptoError.self) { try XChaCha20Poly1305.open(c, key: key, nonce: nonce, additionalData: []) }
    }

    @Test func wrongKeyFails() throws {
        let c = try XChaCha20Poly1305.seal(Array("entries".utf8), key: key, nonce: nonce, additionalData: [])
        let other = SecureBytes(SystemRandom().bytes(XChaCha20Poly1305.keyLength))
        #expect(throws: CryptoError.self) { try XChaCha20Poly1305.open(c, key: other, nonce: nonce, additionalData: []) }
    }

    @Test func shortNonceIsRefused() {
        #expect(throws: CryptoError.badLength(what: "AEAD nonce", expected: 24, actual: 12)) {
            try XChaCha20Poly1305.seal([1], key: key, nonce: [UInt8](repeating: 0, count: 12), additionalData: [])
        }
    }
}

@Suite struct SecretBoxTests {
    @Test func opensWithItsKeyOnly() throws {
        let key = SecureBytes(SystemRandom().bytes(SecretBox.keyLength))
        let secret = SecureBytes(Array("seed".utf8))
        let boxed = try SecretBox.seal(secret, key: key, random: SystemRandom())
        #expect(try SecretBox.open(boxed, key: key).revealedCopy() == Array("seed".utf8))
        let other = SecureBytes(SystemRandom().bytes(SecretBox.keyLength))
        #expect(throws: CryptoError.self) { try SecretBox.open(boxed, key: other) }
    }
}

@Suite struct PassphraseContainerTests {
    let passphrase = SecureBytes(Array("correct horse battery staple".utf8))

    func sealed(_ plain: [UInt8]) throws -> [UInt8] {
        try PassphraseContainer.seal(plain, passphrase: passphrase, strength: .interactive, random: SystemRandom())
    }

    @Test func roundTripsAcrossSeveralChunks() throws {
        let plain = SystemRandom().bytes(200_000)
        #expect(try PassphraseContainer.open(try sealed(plain), passphrase: passphrase) == plain)
    }

    @Test func roundTripsAnEmptyPlaintext() throws {
        #expect(try PassphraseContainer.open(try sealed([]), passphrase: passphrase) == [])
    }

    @Test func wrongPassphraseIsToldApart() throws {
        let file = try sealed(Array("identity".utf8))
        #expect(throws: CryptoError.wrongPassphrase) {
            try PassphraseContainer.open(file, passphrase: SecureBytes(Array("wrong".utf8)))
        }
    }

    @Test func truncatedFileIsDamaged() throws {
        let file = try sealed(SystemRandom().bytes(150_000))
        // Cut after the first chunk: every chunk left verifies but no FINAL tag arrives.
        let firstChunkEnd = 4 + 1 + 8 + 8 + 16 + 16 + 24 + 4 + 65_536 + 17
        #expect(throws: CryptoError.self) { try PassphraseContainer.open(Array(file.prefix(firstChunkEnd)), passphrase: passphrase) }
        #expect(throws: CryptoError.self) { try PassphraseContainer.open(Array(file.dropLast(5)), passphrase: passphrase) }
    }

    @Test func flippedByteIsDamaged() throws {
        var file = try sealed(Array("identity".utf8))
        file[file.count - 3] ^= 0x10
        #expect(throws: CryptoError.self) { try PassphraseContainer.open(file, passphrase: passphrase) }
    }

    @Test func alteredHeaderIsDetected() throws {
        var file = try sealed(Array("identity".utf8))
        file[30] ^= 0x01  // inside the salt
        #expect(throws: CryptoError.self) { try PassphraseContainer.open(file, passphrase: passphrase) }
    }

    @Test func notAContainerIsDamaged() {
        #expect(throws: CryptoError.self) { try PassphraseContainer.open(Array("hello world".utf8), passphrase: passphrase) }
    }
}

@Suite struct PassphraseContainerStreamTests {
    let passphrase = SecureBytes(Array("correct horse battery staple".utf8))

    /// The container a `Writer` makes from `plain` handed over in pieces of `sizes` (cycled).
    func streamed(_ plain: [UInt8], pieces sizes: [Int], seed: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        let writer = try PassphraseContainer.Writer(passphrase: passphrase, strength: .interactive, random: SeededRandom(seed: seed)) { out += $0 }
        var offset = 0, turn = 0
        while offset < plain.count {
            let end = min(plain.count, offset + sizes[turn % sizes.count])
            try writer.write(Array(plain[offset..<end]))
            offset = end
            turn += 1
        }
        try writer.finish()
        #expect(writer.bytesWritten == out.count)
        return out
    }

    /// The length field of every chunk (the stream header is random, so bytes cannot be compared).
    func chunkLengths(_ file: [UInt8]) -> [Int] {
        var cursor = 4 + 1 + 8 + 8 + 16 + 16 + 24
        var lengths: [Int] = []
        while cursor + 4 <= file.count {
            let length = file[cursor..<(cursor + 4)].reduce(0) { $0 << 8 | Int($1) }
            lengths.append(length)
            cursor += 4 + length
        }
        return lengths
    }

    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000])
    func aWriterFedInPiecesCutsTheChunksSealCuts(count: Int) throws {
        let plain = SeededRandom(seed: 7).bytes(count)
        let whole = try PassphraseContainer.seal(plain, passphrase: passphrase, strength: .interactive, random: SeededRandom(seed: 3))
        let pieces = try streamed(plain, pieces: [1, 4_097, 70_000, 13], seed: 3)
        #expect(pieces.count == whole.count)
        #expect(chunkLengths(pieces) == chunkLengths(whole))
        #expect(chunkLengths(pieces).count == max(1, (count + 65_535) / 65_536))
        #expect(try PassphraseContainer.open(pieces, passphrase: passphrase) == plain)
    }

    @Test func aReaderReturnsEachChunkThenNilAfterTheVerifiedEnd() throws {
        let plain = SeededRandom(seed: 9).bytes(150_000)
        let file = try streamed(plain, pieces: [50_000], seed: 4)
        let reader = try PassphraseContainer.Reader(passphrase: passphrase, source: .bytes(file))
        var sizes: [Int] = []
        var joined: [UInt8] = []
        while let chunk = try reader.next() {
            sizes.append(chunk.count)
            joined += chunk
        }
        #expect(sizes == [65_536, 65_536, 18_928])
        #expect(joined == plain)
        #expect(try reader.next() == nil)
    }

    @Test func bytesAfterTheFinalChunkAreRefusedAtTheEnd() throws {
        let file = try streamed(Array("identity".utf8), pieces: [8], seed: 5)
        let reader = try PassphraseContainer.Reader(passphrase: passphrase, source: .bytes(file + [0, 0, 0, 0]))
        #expect(try reader.next() == Array("identity".utf8))
        #expect(throws: CryptoError.self) { try reader.next() }
    }

    @Test func aChunkLengthOverTheChunkSizeIsRefusedBeforeReadingIt() throws {
        var file = try streamed(Array("identity".utf8), pieces: [8], seed: 6)
        let lengthAt = 4 + 1 + 8 + 8 + 16 + 16 + 24
        file.replaceSubrange(lengthAt..<(lengthAt + 4), with: [0xff, 0xff, 0xff, 0xf0])
        let reader = try PassphraseContainer.Reader(passphrase: passphrase, source: .bytes(file))
        #expect(throws: CryptoError.damaged("implausible chunk length 4294967280")) { try reader.next() }
    }
}

/// The table coder for public bytes must agree with the constant-time one on every input.
@Suite struct Base64URLPublicTests {
    @Test func encodingAgreesWithLibsodiumForEveryLength() {
        let random = SeededRandom(seed: 11)
        for length in 0..<300 {
            let bytes = random.bytes(length)
            #expect(Base64URL.encodePublic(bytes) == Base64URL.encode(bytes), "length \(length)")
        }
    }

    @Test func bytesOutsideASCIIAreRefusedByBothDecoders() {
        // libsodium alone took 0x80…0xFF for letters.
        for byte in UInt8(0x80)...UInt8(0xFF) {
            let text = String(decoding: Array("AAA".utf8) + [byte], as: UTF8.self)
            #expect(throws: CryptoError.self) { try Base64URL.decode(text) }
            #expect(throws: CryptoError.self) { try Base64URL.decodePublic(text) }
        }
    }

    @Test func decodingAcceptsAndRefusesWhatTheConstantTimeDecoderDoes() throws {
        let random = SeededRandom(seed: 12)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let strays = Array("=+/ \n.\u{0}é".utf8)
        var accepted = 0, refused = 0
        for round in 0..<5_000 {
            let length = Int(random.bytes(1)[0]) % 40
            var text = random.bytes(length).map { alphabet[Int($0) % 64] }
            if round % 3 == 0, !text.isEmpty {
                text[Int(random.bytes(1)[0]) % text.count] = strays[Int(random.bytes(1)[0]) % strays.count]
            }
            let string = String(decoding: text, as: UTF8.self)
            let expected = try? Base64URL.decode(string)
            let actual = try? Base64URL.decodePublic(string)
            #expect(actual == expected, "\(string.debugDescription)")
            if expected == nil { refused += 1 } else { accepted += 1 }
        }
        // Both kinds were exercised: random tails have nonzero bits or a 4n+1 length often.
        #expect(accepted > 500 && refused > 500, "accepted \(accepted), refused \(refused)")
    }

    @Test func aLongCiphertextRoundTrips() throws {
        let bytes = SeededRandom(seed: 13).bytes(250_001)
        #expect(try Base64URL.decodePublic(Base64URL.encodePublic(bytes)) == bytes)
    }
}
