import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// The fast reader is only a shortcut for what the writer writes: where it reads something, it
/// reads what Foundation's decoder reads; for anything else it reads nothing and the decoder
/// decides.
@Suite struct WireJSONReaderTests {
    static func packet(origins: Int, keys: [ChangeEntry]?) throws -> SyncData {
        let entries = WireJSONWriterTests.hostile.enumerated().map { WireJSONWriterTests.entry($0.offset, text: $0.element) }
        var seqs: [OriginID: UInt64] = [:]
        for index in 0..<origins { seqs[OriginID.generate(using: SeededRandom(seed: UInt64(1_000 + index)))] = UInt64(index * 13 + 1) }
        return SyncData(channel: try PortableID(validating: Base64URL.encode(SeededRandom(seed: 5).bytes(64))),
                        from: try SiteID(validating: Base64URL.encode(SeededRandom(seed: 6).bytes(64))),
                        entries: entries, vector: VersionVector(seqs), digest: String(repeating: "ab", count: 32), keys: keys)
    }

    /// Compared as the bytes each writes again: `==` on strings would let canonically equivalent
    /// text pass.
    static func same(_ a: SyncData?, _ b: SyncData?) throws -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return try a.wireJSON() == b.wireJSON() && a == b
    }

    @Test(arguments: [0, 1, 40])
    func aPacketTheWriterWroteIsReadAsTheDecoderReadsIt(origins: Int) throws {
        let sample = WireJSONWriterTests.entry(0, text: "k")
        for keys in [nil, [], [sample]] as [[ChangeEntry]?] {
            let bytes = try Self.packet(origins: origins, keys: keys).wireJSON()
            let fast = try #require(SyncData.fastWire(bytes), "the fast path did not read what the writer wrote")
            #expect(try Self.same(fast, try WireJSON.decode(SyncData.self, from: Data(bytes), what: "sync data")))
        }
    }

    @Test(arguments: Array(WireJSONWriterTests.hostile.enumerated()))
    func anEntryTheWriterWroteIsReadAsTheDecoderReadsIt(index: Int, text: String) throws {
        for variant in 0..<3 {
            let line = String(decoding: WireJSONWriterTests.entry(index * 3 + variant, text: text).wireJSON, as: UTF8.self)
            let fast = try #require(ChangeEntry.fastWire(line.utf8), "\(text.debugDescription)")
            let decoded = try WireJSON.decode(ChangeEntry.self, from: line, what: "entry")
            #expect(fast.wireJSON == decoded.wireJSON && fast == decoded, "\(text.debugDescription)")
        }
    }

    @Test func seqsAtTheEdgesAreReadAsTheDecoderReadsThem() throws {
        for seq in [UInt64(0), 1, 9, 10, 99, 100, VersionVector.maxSeq, UInt64.max] {
            let entry = ChangeEntry(id: "x", origin: OriginID.generate(using: SeededRandom(seed: 1)), seq: seq,
                                    hlc: HybridTimestamp(rawValue: 1), entity: "e", key: "k", op: .put, body: "{}")
            #expect(ChangeEntry.fastWire(entry.wireJSON) == entry)
        }
    }

    /// Valid JSON of the same value in another form: the fast path leaves it to the decoder.
    @Test(arguments: [
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, true),
        (#"{"entity":"item","body":"{}","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, false),
        (#"{"body":"{}", "entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"a\/b","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"\u0041","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"\ud83d\ude00","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1.0}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1e0}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1,"extra":0}"#, false),
        (#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1} "#, false),
    ])
    func anotherFormOfTheSameEntryIsLeftToTheDecoder(line: String, fast: Bool) throws {
        #expect((ChangeEntry.fastWire(line.utf8) != nil) == fast)
        let decoded = try ChangeEntry.decodeWire(line, what: "entry")
        #expect(decoded == (try WireJSON.decode(ChangeEntry.self, from: line, what: "entry")))
    }

    /// What the decoder refuses, the fast path does not read, so the decoder's error is the answer.
    @Test(arguments: [
        #"{"body":"{}","entity":"item","hlc":"0193A1B2C3D40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"move","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"short","seq":1}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":-1}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":01}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":18446744073709551616}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA"}"#,
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"k"#,
        "{\"body\":\"{}\",\"entity\":\"item\",\"hlc\":\"0193a1b2c3d40000\",\"id\":\"x\",\"key\":\"a\tb\",\"op\":\"put\",\"origin\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"seq\":1}",
        #"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"\q","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#,
    ])
    func whatTheDecoderRefusesIsNotRead(line: String) throws {
        #expect(ChangeEntry.fastWire(line.utf8) == nil)
        #expect(throws: ModelError.self) { try ChangeEntry.decodeWire(line, what: "entry") }
    }

    /// ASCII takes a shortcut; anything else is validated as before: the same answer either way.
    @Test func textIsReadAsValidatingReadsIt() {
        let insertions: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x80, 0xA8], [0xF0, 0x9F, 0x98, 0x80], [0xC3], [0xC3, 0x28], [0xFF],
                                     [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x80], [0x7F], []]
        for insertion in insertions {
            for length in 0...20 {
                for position in 0...length {
                    var bytes = Array("abcdefghijklmnopqrstu".utf8.prefix(length))
                    bytes.insert(contentsOf: insertion, at: position)
                    let expected = String(validating: bytes, as: UTF8.self)
                    let actual = bytes.withUnsafeBufferPointer { WireJSONReader.text($0) }
                    #expect(actual == expected && actual.map { Array($0.utf8) == bytes } ?? true, "\(bytes)")
                }
            }
        }
    }

    @Test func invalidUTF8InAStringIsNotRead() throws {
        var bytes = Array(#"{"body":"{}","entity":"item","hlc":"0193a1b2c3d40000","id":"x","key":"#.utf8)
        bytes += [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]
        bytes += Array(#","op":"put","origin":"AAAAAAAAAAAAAAAAAAAAAA","seq":1}"#.utf8)
        #expect(ChangeEntry.fastWire(bytes) == nil)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ChangeEntry.self, from: Data(bytes)) }
    }

    @Test func aPacketInAnotherFormIsReadByTheDecoder() throws {
        let data = try Self.packet(origins: 2, keys: nil)
        let pretty = Array(try WireJSON.encode(data, pretty: true).utf8)
        #expect(SyncData.fastWire(pretty) == nil)
        #expect(try Self.same(try SyncData.decodeWire(pretty, what: "sync data", maxDepth: 64), data))
        // A vector the compact reader does not take (a duplicate origin) goes to the decoder too.
        var bytes = try data.wireJSON()
        let origin = try #require(data.vector.seqs.keys.first).text
        let vector = Array(#""vector":{"#.utf8)
        let at = try #require(bytes.indices.last { bytes[$0...].starts(with: vector) })
        bytes.insert(contentsOf: Array(#""\#(origin)":5,"#.utf8), at: at + vector.count)
        #expect(SyncData.fastWire(bytes) == nil)
        #expect(try Self.same(try SyncData.decodeWire(bytes, what: "sync data", maxDepth: 64),
                              try WireJSON.decode(SyncData.self, from: Data(bytes), what: "sync data")))
    }

    @Test func aDepthLimitBelowThePacketsOwnLeavesItToTheDecoder() throws {
        let bytes = try Self.packet(origins: 1, keys: nil).wireJSON()
        #expect(throws: ModelError.self) { try SyncData.decodeWire(bytes, what: "sync data", maxDepth: 2) }
    }
}

extension WireJSONReaderTests {
    @Test func aPageTheWriterWroteIsReadAsTheDecoderReadsIt() throws {
        let data = try Self.packet(origins: 3, keys: nil)
        let origin = OriginID.generate(using: SeededRandom(seed: 8))
        for (after, more, keys) in [(UInt64(0), true, nil), (UInt64(9_000_000_000), false, Array(data.entries.prefix(1))), (UInt64(7), false, [])]
            as [(UInt64, Bool, [ChangeEntry]?)] {
            let page = SyncPage(channel: data.channel, from: data.from, origin: origin, after: after, entries: data.entries, more: more,
                                vector: data.vector, digest: data.digest, keys: keys)
            let bytes = try page.wireJSON()
            let fast = try #require(SyncPage.fastWire(bytes), "the fast path did not read what the writer wrote")
            let decoded = try WireJSON.decode(SyncPage.self, from: Data(bytes), what: "sync page")
            #expect(fast == decoded)
            #expect(try fast.wireJSON() == decoded.wireJSON())
        }
    }

    @Test func aPageInAnotherFormIsReadByTheDecoder() throws {
        let data = try Self.packet(origins: 1, keys: nil)
        let page = SyncPage(channel: data.channel, from: data.from, origin: OriginID.generate(using: SeededRandom(seed: 8)), after: 3,
                            entries: data.entries, more: true, vector: data.vector, digest: data.digest)
        let pretty = Array(try WireJSON.encode(page, pretty: true).utf8)
        #expect(SyncPage.fastWire(pretty) == nil)
        #expect(try SyncPage.decodeWire(pretty, what: "sync page", maxDepth: 64) == page)
        let truncated = Array(try page.wireJSON().dropLast())
        #expect(SyncPage.fastWire(truncated) == nil)
        #expect(throws: ModelError.self) { try SyncPage.decodeWire(truncated, what: "sync page", maxDepth: 64) }
    }
}
