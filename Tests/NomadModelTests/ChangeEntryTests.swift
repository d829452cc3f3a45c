import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

@Suite struct ChangeEntryTests {
    let origin = try! OriginID(validating: Base64URL.encode([UInt8](repeating: 7, count: 16)))
    let hlc = HybridTimestamp(milliseconds: 1_700_000_000_000, counter: 3)

    func entry(body: String = "{\"content\":\"hi\"}", seq: UInt64 = 42) -> ChangeEntry {
        ChangeEntry(origin: origin, seq: seq, hlc: hlc, entity: "item", key: "https://a.example/item/9f2c", op: .put, body: body)
    }

    @Test func idIsBLAKE2b256OfTheLengthPrefixedFields() {
        var w = BinaryWriter()
        w.text("nomadsync/entry/1"); w.text(origin.text); w.u64(42); w.u64(hlc.rawValue)
        w.text("item"); w.text("https://a.example/item/9f2c"); w.text("put"); w.text("{\"content\":\"hi\"}")
        #expect(entry().id == Base64URL.encode(Blake2b.hash256(w.bytes)))
        #expect(entry().id.count == 43)
    }

    @Test func everyFieldChangesTheID() {
        let base = entry()
        let variants = [
            ChangeEntry(origin: origin, seq: 43, hlc: hlc, entity: "item", key: base.key, op: .put, body: base.body),
            ChangeEntry(origin: origin, seq: 42, hlc: HybridTimestamp(rawValue: hlc.rawValue + 1), entity: "item", key: base.key, op: .put, body: base.body),
            ChangeEntry(origin: origin, seq: 42, hlc: hlc, entity: "event", key: base.key, op: .put, body: base.body),
            ChangeEntry(origin: origin, seq: 42, hlc: hlc, entity: "item", key: base.key + "x", op: .put, body: base.body),
            ChangeEntry(origin: origin, seq: 42, hlc: hlc, entity: "item", key: base.key, op: .delete, body: ""),
            entry(body: "{\"content\": \"hi\"}"),  // one space: exact bytes count
        ]
        for v in variants { #expect(v.id != base.id) }
    }

    @Test func lengthPrefixesKeepFieldBoundaries() {
        let a = ChangeEntry(origin: origin, seq: 1, hlc: hlc, entity: "item", key: "ab", op: .put, body: "\"c\"")
        let b = ChangeEntry(origin: origin, seq: 1, hlc: hlc, entity: "item", key: "a", op: .put, body: "b\"c\"")
        #expect(a.id != b.id)
    }

    @Test func validateRefusesAnAlteredBody() throws {
        let e = entry()
        let forged = ChangeEntry(id: e.id, origin: e.origin, seq: e.seq, hlc: e.hlc, entity: e.entity, key: e.key, op: e.op, body: "{\"content\":\"bye\"}")
        try e.validate()
        #expect(throws: ModelError.entryIDMismatch(id: e.id, expected: forged.expectedID)) { try forged.validate() }
    }

    @Test func jsonRoundTripKeepsTheBodyByteExact() throws {
        let e = entry(body: "{ \"b\" : 1,\n \"a\":[2 ,3]}")
        let back = try WireJSON.decode(ChangeEntry.self, from: try WireJSON.encode(e), what: "entry")
        #expect(back == e)
        try back.validate()
    }

    @Test func putBodyMustBeJSON() {
        #expect(throws: ModelError.self) { try entry(body: "{not json").validate() }
    }

    @Test func deleteCarriesAnEmptyBody() {
        let bad = ChangeEntry(origin: origin, seq: 1, hlc: hlc, entity: "item", key: "k", op: .delete, body: "{}")
        #expect(throws: ModelError.self) { try bad.validate() }
    }

    @Test func bodyDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: ModelError.self) { try entry(body: deep).validate() }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try entry(body: ok).validate() }
    }

    @Test(arguments: ["item", "location", "x-hubzilla_photo", "x-a"])
    func acceptsKnownAndServerEntities(_ name: String) throws { try EntityName.validate(name) }

    @Test(arguments: ["", "items", "x-", "X-thing", "x-Thing", "x-a b"])
    func refusesOtherEntities(_ name: String) { #expect(throws: ModelError.self) { try EntityName.validate(name) } }
}

@Suite struct HybridClockTests {
    @Test func textIsSixteenLowercaseHexDigitsThatSortLikeTime() throws {
        let a = HybridTimestamp(milliseconds: 0x0193a1b2c3d4, counter: 3)
        #expect(a.text == "0193a1b2c3d40003")
        #expect(try HybridTimestamp(text: a.text) == a)
        let b = HybridTimestamp(milliseconds: 0x0193a1b2c3d5, counter: 0)
        #expect(a < b && a.text < b.text)
    }

    @Test(arguments: ["0193A1B2C3D40003", "0193a1b2c3d4000", "0193a1b2c3d400030", "0x93a1b2c3d40003"])
    func refusesOtherShapes(_ text: String) { #expect(throws: ModelError.self) { try HybridTimestamp(text: text) } }

    @Test func neverGoesBackwardsWhenTheWallClockDoes() {
        var clock = HybridClock()
        let first = clock.tick(wallMilliseconds: 10_000)
        let second = clock.tick(wallMilliseconds: 5_000)
        #expect(second > first)
        #expect(second.milliseconds == 10_000 && second.counter == 1)
    }

    @Test func movesPastWhatItObserves() {
        var clock = HybridClock()
        clock.observe(HybridTimestamp(milliseconds: 50_000, counter: 9))
        let next = clock.tick(wallMilliseconds: 10_000)
        #expect(next == HybridTimestamp(milliseconds: 50_000, counter: 10))
    }

    @Test func counterOverflowMovesToTheNextMillisecond() {
        var clock = HybridClock(last: HybridTimestamp(milliseconds: 7, counter: .max))
        #expect(clock.tick(wallMilliseconds: 1) == HybridTimestamp(milliseconds: 8, counter: 0))
    }
}

@Suite struct IdentifierTests {
    @Test func portableIDIsBLAKE2b512OfGuidAndKey() {
        let key = [UInt8](repeating: 1, count: 32)
        let id = PortableID(guid: "guid-text", publicKey: key)
        #expect(id.text == Base64URL.encode(Blake2b.hash512(Array("guid-text".utf8) + key)))
        #expect(id.text.count == 86)
    }

    @Test func siteIDIsBLAKE2b512OfURLAndKey() {
        let key = [UInt8](repeating: 2, count: 32)
        #expect(SiteID(url: "https://a.example", publicKey: key).text == Base64URL.encode(Blake2b.hash512(Array("https://a.example".utf8) + key)))
    }

    @Test func malformedIDsAreRefused() {
        #expect(throws: ModelError.self) { try PortableID(validating: "short") }
        #expect(throws: ModelError.self) { try OriginID(validating: Base64URL.encode([UInt8](repeating: 0, count: 15))) }
    }

    @Test func siteURLsAreNormalisedOrRefused() throws {
        #expect(try Names.normaliseSiteURL("https://hub.example.org/") == "https://hub.example.org")
        #expect(Names.host(of: "http://127.0.0.1:8451") == "127.0.0.1:8451")
        for bad in ["ftp://x", "https://", "https://a.example/?q=1", "hub.example.org"] {
            #expect(throws: ModelError.self) { try Names.normaliseSiteURL(bad) }
        }
    }

    @Test func nicknamesAreChecked() throws {
        try Names.validateNickname("alice_1.x")
        for bad in ["", "Alice", "_alice", "a b", String(repeating: "a", count: 65)] {
            #expect(throws: ModelError.self) { try Names.validateNickname(bad) }
        }
    }
}
