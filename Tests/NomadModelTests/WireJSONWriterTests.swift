import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// The fast writer must make exactly Foundation's bytes: receivers of either see one format.
@Suite struct WireJSONWriterTests {
    /// Every control character, the escaped ones, slashes, non-ASCII of 2, 3 and 4 bytes,
    /// line and paragraph separators, DEL and a lone combining mark.
    static let hostile: [String] = [
        "", "plain", "\"quoted\" and \\ back\\slash", "a/b//c", "\u{7F}", "é ü ß", "€ ☃ \u{2028}\u{2029}", "😀 🇫🇷", "e\u{301}",
        String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }), "tab\there\nnew\r\u{0C}\u{08}",
    ]

    static func entry(_ index: Int, text: String) -> ChangeEntry {
        let origin = OriginID.generate(using: SeededRandom(seed: UInt64(index)))
        return ChangeEntry(origin: origin, seq: UInt64(index) &* 7_919 &+ 1, hlc: HybridTimestamp(rawValue: 0x0193_a1b2_c3d4_0000 + UInt64(index)),
                           entity: "item", key: "https://a.example/item/\(text)", op: index % 3 == 0 ? .delete : .put,
                           body: index % 3 == 0 ? "" : #"{"content":"#  + (try! WireJSON.encode(text)) + "}")
    }

    @Test(arguments: Array(hostile.enumerated()))
    func anEntryIsWrittenAsFoundationWritesIt(index: Int, text: String) throws {
        for variant in 0..<3 {
            let entry = Self.entry(index * 3 + variant, text: text)
            #expect(entry.wireJSON == Array(try WireJSON.encode(entry).utf8), "\(text.debugDescription)")
        }
    }

    @Test func seqsAtTheEdgesAreWrittenAsFoundationWritesThem() throws {
        for seq in [UInt64(1), 9, 10, 99, 100, 1_000_000, VersionVector.maxSeq, UInt64.max] {
            let entry = ChangeEntry(id: "x", origin: OriginID.generate(using: SeededRandom(seed: 1)), seq: seq,
                                    hlc: HybridTimestamp(rawValue: 1), entity: "e", key: "k", op: .put, body: "{}")
            #expect(entry.wireJSON == Array(try WireJSON.encode(entry).utf8))
        }
    }

    @Test func timestampsAtTheEdgesAreWrittenAsFoundationWritesThem() throws {
        for raw in [UInt64(0), 1, 0xF, 0x10, 0x0193_a1b2_c3d4_0000, UInt64(Int64.max), UInt64.max] {
            let entry = ChangeEntry(id: "x", origin: OriginID.generate(using: SeededRandom(seed: 1)), seq: 1,
                                    hlc: HybridTimestamp(rawValue: raw), entity: "e", key: "k", op: .put, body: "{}")
            #expect(entry.wireJSON == Array(try WireJSON.encode(entry).utf8), "\(raw)")
        }
    }

    @Test(arguments: [0, 1, 40])
    func aSyncPacketIsWrittenAsFoundationWritesIt(origins: Int) throws {
        let entries = Self.hostile.enumerated().map { Self.entry($0.offset, text: $0.element) }
        var seqs: [OriginID: UInt64] = [:]
        for index in 0..<origins { seqs[OriginID.generate(using: SeededRandom(seed: UInt64(1_000 + index)))] = UInt64(index * 13 + 1) }
        let channel = try PortableID(validating: Base64URL.encode(SeededRandom(seed: 5).bytes(64)))
        let from = try SiteID(validating: Base64URL.encode(SeededRandom(seed: 6).bytes(64)))
        for keys in [nil, [], Array(entries.prefix(2))] as [[ChangeEntry]?] {
            let data = SyncData(channel: channel, from: from, entries: entries, vector: VersionVector(seqs), digest: String(repeating: "ab", count: 32), keys: keys)
            #expect(try data.wireJSON() == Array(try WireJSON.encode(data).utf8))
        }
        let empty = SyncData(channel: channel, from: from, entries: [], vector: VersionVector(), digest: "")
        #expect(try empty.wireJSON() == Array(try WireJSON.encode(empty).utf8))
    }

    @Test func anEnvelopeIsWrittenAsFoundationWritesIt() throws {
        let channel = try PortableID(validating: Base64URL.encode(SeededRandom(seed: 5).bytes(64)))
        let site = try SiteID(validating: Base64URL.encode(SeededRandom(seed: 6).bytes(64)))
        for (index, text) in Self.hostile.enumerated() {
            let payload = SealedPayload(encrypted: index % 2 == 0, alg: text, key: text + "k", iv: "iv" + text, data: Base64URL.encode(SeededRandom(seed: 7).bytes(index * 40)))
            for recipients in [[], [channel], [channel, channel]] {
                let envelope = Envelope(type: MessageType.allCases[index % MessageType.allCases.count], encoding: text, sender: channel,
                                        siteID: site, version: text, recipients: recipients, data: payload)
                #expect(envelope.wireJSON == Array(try WireJSON.encode(envelope).utf8), "\(text.debugDescription)")
            }
        }
    }

    @Test func aSyncPageIsWrittenAsFoundationWritesIt() throws {
        let entries = Self.hostile.enumerated().map { Self.entry($0.offset, text: $0.element) }
        let channel = try PortableID(validating: Base64URL.encode(SeededRandom(seed: 5).bytes(64)))
        let from = try SiteID(validating: Base64URL.encode(SeededRandom(seed: 6).bytes(64)))
        let origin = OriginID.generate(using: SeededRandom(seed: 8))
        let vector = VersionVector([origin: 12, OriginID.generate(using: SeededRandom(seed: 9)): 3])
        for (after, more, keys) in [(UInt64(0), true, nil), (UInt64(9_000_000_000), false, Array(entries.prefix(1))), (UInt64(7), false, [])] as [(UInt64, Bool, [ChangeEntry]?)] {
            let page = SyncPage(channel: channel, from: from, origin: origin, after: after, entries: entries, more: more,
                                vector: vector, digest: "ab", keys: keys)
            #expect(try page.wireJSON() == Array(try WireJSON.encode(page).utf8))
        }
    }
}
