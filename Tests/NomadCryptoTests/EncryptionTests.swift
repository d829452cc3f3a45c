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
