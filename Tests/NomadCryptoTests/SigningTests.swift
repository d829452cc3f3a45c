import Testing
@testable import NomadCrypto

@Suite struct SigningTests {
    // RFC 8032 §7.1, test 1.
    let rfcSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    let rfcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    let rfcSignature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"

    @Test func derivesTheRFC8032KeyAndSignature() throws {
        let keys = try SigningKeyPair(seed: SecureBytes(try Hex.decode(rfcSeed)))
        #expect(Hex.encode(keys.publicKey) == rfcPublic)
        #expect(Hex.encode(keys.sign([])) == rfcSignature)
    }

    @Test func signatureVerifiesWithItsKey() throws {
        let keys = SigningKeyPair.generate(using: SystemRandom())
        let message = Array("https://a.example".utf8)
        let text = keys.signatureText(over: message)
        #expect(text.hasPrefix("ed25519."))
        try SigningKeyPair.verify(signatureText: text, over: message, publicKey: keys.publicKey)
    }

    @Test func alteredMessageFailsVerification() {
        let keys = SigningKeyPair.generate(using: SystemRandom())
        let sig = keys.sign(Array("hello".utf8))
        #expect(throws: CryptoError.badSignature) {
            try SigningKeyPair.verify(signature: sig, over: Array("hellO".utf8), publicKey: keys.publicKey)
        }
    }

    @Test func wrongKeyFailsVerification() {
        let a = SigningKeyPair.generate(using: SystemRandom())
        let b = SigningKeyPair.generate(using: SystemRandom())
        let sig = a.sign(Array("hello".utf8))
        #expect(throws: CryptoError.badSignature) {
            try SigningKeyPair.verify(signature: sig, over: Array("hello".utf8), publicKey: b.publicKey)
        }
    }

    @Test func alteredSignatureFailsVerification() {
        let keys = SigningKeyPair.generate(using: SystemRandom())
        var sig = keys.sign(Array("hello".utf8))
        sig[10] ^= 0x01
        #expect(throws: CryptoError.badSignature) {
            try SigningKeyPair.verify(signature: sig, over: Array("hello".utf8), publicKey: keys.publicKey)
        }
    }

    @Test func secretsNeverPrint() {
        let keys = SigningKeyPair.generate(using: SystemRandom())
        let seedHex = Hex.encode(keys.seed.revealedCopy())
        let b64 = Base64URL.encode(keys.seed.revealedCopy())
        for text in ["\(keys)", "\(keys.seed)", String(reflecting: keys.seed)] {
            #expect(!text.contains(seedHex))
            #expect(!text.contains(b64))
        }
        #expect("\(keys.seed)".contains("redacted"))
    }
}

@Suite struct HashAndEncodingTests {
    @Test func blake2b512MatchesRFC7693() {
        #expect(Hex.encode(Blake2b.hash512(Array("abc".utf8))) ==
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test func sha256MatchesKnownAnswer() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func base64URLRoundTripsWithoutPadding() throws {
        for n in 0..<40 {
            let bytes = SystemRandom().bytes(n)
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try Base64URL.decode(text) == bytes)
        }
    }

    @Test(arguments: ["AAA=", "ab+c", "ab/c", "a b", "é"])
    func base64URLRefusesOtherAlphabets(_ text: String) {
        #expect(throws: CryptoError.self) { try Base64URL.decode(text) }
    }

    @Test func hexRefusesOddLengthAndStrangers() {
        #expect(throws: CryptoError.self) { try Hex.decode("abc") }
        #expect(throws: CryptoError.self) { try Hex.decode("zz") }
    }

    @Test func seededRandomRepeatsPerSeedAndDiffersAcrossSeeds() {
        #expect(SeededRandom(seed: 7).bytes(32) == SeededRandom(seed: 7).bytes(32))
        #expect(SeededRandom(seed: 7).bytes(32) != SeededRandom(seed: 8).bytes(32))
        let r = SeededRandom(seed: 7)
        #expect(r.bytes(16) != r.bytes(16))
    }
}
