import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// Values from a hostile peer that once passed or trapped.
struct HostileValueTests {
    static let origin = try! OriginID(validating: Base64URL.encode([UInt8](repeating: 7, count: 16)))

    /// An entry whose id contains a `K`.
    static func entryWithK() -> ChangeEntry {
        for n in 0..<10_000 {
            let entry = ChangeEntry(origin: origin, seq: 1, hlc: HybridTimestamp(milliseconds: 1_700_000_000_000, counter: 0),
                                    entity: "item", key: "k\(n)", op: .put, body: "{}")
            if entry.id.contains("K") { return entry }
        }
        fatalError("no id with a K in 10,000 tries")
    }

    @Test func anEntryIDWithAKelvinSignInPlaceOfKIsRefused() throws {
        let genuine = Self.entryWithK()
        let forgedID = genuine.id.replacingOccurrences(of: "K", with: "\u{212A}")
        #expect(forgedID == genuine.id, "Swift's == treats them as equal: the reason ids compare as bytes")
        let forged = ChangeEntry(id: forgedID, origin: genuine.origin, seq: genuine.seq, hlc: genuine.hlc, entity: genuine.entity,
                                 key: genuine.key, op: genuine.op, body: genuine.body)
        #expect(throws: ModelError.self) { try forged.validate() }
        try genuine.validate()
    }

    @Test func anEntryIDOfTheWrongShapeIsRefused() {
        let genuine = Self.entryWithK()
        for id in [genuine.id + "A", String(genuine.id.dropLast()), genuine.id.replacingOccurrences(of: "K", with: "+")] {
            let entry = ChangeEntry(id: id, origin: genuine.origin, seq: 1, hlc: genuine.hlc, entity: "item", key: genuine.key,
                                    op: .put, body: "{}")
            #expect(throws: ModelError.self) { try entry.validate() }
        }
    }

    @Test func aSeqBeyondSignedSixtyFourBitsIsRefused() {
        let entry = ChangeEntry(origin: Self.origin, seq: UInt64(Int64.max) + 1, hlc: HybridTimestamp(milliseconds: 1, counter: 0),
                                entity: "item", key: "k", op: .put, body: "{}")
        #expect(throws: ModelError.self) { try entry.validate() }
    }

    @Test func aVectorWithASeqBeyondSignedSixtyFourBitsIsRefused() {
        let json = #"{"\#(Self.origin.text)":9223372036854775808}"#
        #expect(throws: (any Error).self) { try WireJSON.decode(VersionVector.self, from: json, what: "vector") }
        #expect(throws: Never.self) { try WireJSON.decode(VersionVector.self, from: #"{"\#(Self.origin.text)":9223372036854775807}"#, what: "vector") }
    }

    @Test func lagOverHugeVectorsSaturatesInsteadOfOverflowing() throws {
        let other = try OriginID(validating: Base64URL.encode([UInt8](repeating: 9, count: 16)))
        let third = try OriginID(validating: Base64URL.encode([UInt8](repeating: 11, count: 16)))
        let ahead = VersionVector([Self.origin: VersionVector.maxSeq, other: VersionVector.maxSeq, third: VersionVector.maxSeq])
        #expect(ahead.entriesAhead(of: VersionVector()) == UInt64.max)
        #expect(VersionVector([Self.origin: 5]).entriesAhead(of: VersionVector([Self.origin: 2])) == 3)
    }

    static func location(keys: SigningKeyPair, site: SigningKeyPair) -> Location {
        let url = "https://b.example"
        var location = Location(host: "b.example", address: "alice@b.example", idURL: "\(url)/channel/alice", primary: false, url: url,
                                urlSig: "", siteID: SiteID(url: url, publicKey: site.publicKey), callback: "\(url)/zot",
                                sitekey: Base64URL.encode(site.publicKey), sealkey: Base64URL.encode([UInt8](repeating: 1, count: 32)),
                                deleted: false, writer: origin, fallbacks: ["https://b2.example"])
        location.sign(with: keys)
        return location
    }

    @Test func aSignedLocationVerifies() throws {
        let channel = SigningKeyPair.generate(using: SeededRandom(seed: 1))
        try Self.location(keys: channel, site: SigningKeyPair.generate(using: SeededRandom(seed: 2))).verify(channelPublicKey: channel.publicKey)
    }

    @Test func aGenuineURLSigWithAnAttackersKeysDoesNotVerify() throws {
        let channel = SigningKeyPair.generate(using: SeededRandom(seed: 1))
        let genuine = Self.location(keys: channel, site: SigningKeyPair.generate(using: SeededRandom(seed: 2)))
        var forged = genuine
        forged.sealkey = Base64URL.encode([UInt8](repeating: 0xEE, count: 32))
        try forged.verifyURLSignature(channelPublicKey: channel.publicKey)  // url_sig alone still verifies…
        #expect(throws: ModelError.self) { try forged.verify(channelPublicKey: channel.publicKey) }  // …the whole location does not
        var moved = genuine
        moved.fallbacks = ["https://evil.example"]
        #expect(throws: ModelError.self) { try moved.verify(channelPublicKey: channel.publicKey) }
    }
}

/// Zot6 encapsulated envelopes (the whole envelope encrypted to the site) are a foreign encoding.
struct EncapsulatedEnvelopeTests {
    @Test func anEncapsulatedEnvelopeIsIgnoredNotRefused() throws {
        let body = #"{"encrypted":true,"alg":"aes256ctr.oaep","key":"k","iv":"i","data":"d"}"#
        #expect(try CodecRegistry.standard.decode(Data(body.utf8)) == .ignored(encoding: "encapsulated:aes256ctr.oaep", type: nil))
    }

    @Test func anObjectWithoutTypeThatIsNotEncapsulatedIsStillMalformed() {
        #expect(throws: ModelError.self) { try CodecRegistry.standard.decode(Data(#"{"encrypted":false,"alg":"x"}"#.utf8)) }
        #expect(throws: ModelError.self) { try CodecRegistry.standard.decode(Data(#"{"encoding":"hz"}"#.utf8)) }
    }
}
