import Foundation
import NomadCrypto
import NomadModel
import NomadStore
import Testing
@testable import NomadEngine

/// Packets and entries from a clone that misbehaves: each is refused, and a refusal records nothing.
@Suite struct HostilePacketTests {
    /// a and b clone alice and know each other's location.
    static func pair() throws -> (TestSite, TestSite) {
        let (a, b) = try TestSite.clonedPair()
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        return (a, b)
    }

    /// `data` sealed from a to b in a sync envelope.
    static func envelope(_ data: SyncData, from a: TestSite, to b: TestSite) throws -> Envelope {
        let me = try a.site.identity().siteID
        let them = try b.location("alice")
        let sealKey = try Base64URL.decode(them.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
        let binding = Envelope.binding(type: .sync, sender: data.channel, siteID: me, recipientSiteID: them.siteID)
        let payload = try SealedPayload.seal(Array(try WireJSON.encode(data).utf8), to: sealKey, additionalData: binding, random: SystemRandom())
        return Envelope(type: .sync, sender: data.channel, siteID: me, recipients: [data.channel], data: payload)
    }

    @Test func aRefusedPacketRecordsNeitherTheReportNorTheToken() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let original = try a.put("alice", "k", #"{"v":1}"#)
        _ = try b.site.replay(nickname: "alice", [original])
        let fork = ChangeEntry(origin: original.origin, seq: original.seq, hlc: original.hlc, entity: "item", key: "k", op: .put, body: #"{"v":2}"#)
        let channel = try a.site.channel(nickname: "alice")
        let claimed = VersionVector([channel.writer: 1_000_000])
        let bad = SyncData(channel: channel.portableID, from: try a.site.identity().siteID, entries: [fork], vector: claimed, digest: String(repeating: "1", count: 64))
        #expect(throws: EngineError.self) { try b.site.acceptSync(try b.site.openSync(try Self.envelope(bad, from: a, to: b)), token: "tok") }

        let (row, sender) = (try b.site.channel(nickname: "alice").rowID, try a.site.identity().siteID)
        let peer = try b.site.store.read { try $0.peer(channel: row, siteID: sender) }
        #expect(peer?.vector == nil, "the refused packet's vector was recorded")
        #expect(try b.site.syncStatus(nickname: "alice").diverged == nil)
        // The token of the refused packet was not used up either.
        let good = try a.site.nextPacket(channel: "alice", to: try b.location("alice")).envelope
        _ = try b.site.acceptSync(try b.site.openSync(good), token: "tok")
    }

    @Test func anEntryWhoseIdIsNotItsContentIsRefusedWhenCheckedBeforeItsTurn() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let good = try a.put("alice", "k", #"{"v":1}"#)
        let forged = ChangeEntry(id: good.id, origin: good.origin, seq: good.seq, hlc: good.hlc, entity: good.entity, key: good.key,
                                 op: good.op, body: #"{"v":2}"#)
        let channel = try a.site.channel(nickname: "alice")
        let data = SyncData(channel: channel.portableID, from: try a.site.identity().siteID, entries: [forged],
                            vector: VersionVector([channel.writer: good.seq]), digest: String(repeating: "1", count: 64))
        let opened = try b.site.openSync(try Self.envelope(data, from: a, to: b))
        let digest = try b.digest("alice")
        #expect(throws: EngineError.self) { try b.site.checkSync(opened) }
        #expect(try b.digest("alice") == digest)
        // The same packet with the true entry, checked first and accepted later, applies.
        var honest = data
        honest.entries = [good]
        let checked = try b.site.checkSync(try b.site.openSync(try Self.envelope(honest, from: a, to: b)))
        #expect(try b.site.acceptSync(checked, token: "t-honest").report.applied == 1)
    }

    @Test func aTokenSeenBeforeIsARefusalThatRecordsNothing() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k", "{}")
        let packet = try a.site.nextPacket(channel: "alice", to: try b.location("alice")).envelope
        _ = try b.site.acceptSync(try b.site.openSync(packet), token: "same")
        _ = try a.put("alice", "k2", "{}")
        let next = try a.site.nextPacket(channel: "alice", to: try b.location("alice")).envelope
        let digest = try b.digest("alice")
        #expect(throws: EngineError.replayedToken(windowMinutes: 30)) { try b.site.acceptSync(try b.site.openSync(next), token: "same") }
        #expect(try b.digest("alice") == digest)
    }

    @Test func anEntryOfAnInventedOriginIsRefused() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let invented = OriginID.generate(using: SeededRandom(seed: 4242))
        let entry = ChangeEntry(origin: invented, seq: 1, hlc: HybridTimestamp(milliseconds: TestSite.start, counter: 0),
                                entity: "item", key: "k", op: .put, body: "{}")
        #expect {
            try b.site.replay(nickname: "alice", [entry])
        } throws: { error in
            guard case EngineError.invalidEntry(_, _, let reason) = error else { return false }
            return reason.contains("not the writer")
        }
    }

    @Test func heldEntriesAreBoundedAndTheExcessIsRefused() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let entries = try (0..<5).map { try a.put("alice", "k\($0)", "{}") }
        let channel = try b.site.channel(nickname: "alice")
        var engine = ReplayEngine()
        engine.maxHeldPerOrigin = 2
        #expect {
            try b.site.store.write { tx in try engine.apply(Array(entries.suffix(3)), to: channel.record, in: tx, now: TestSite.start + 10_000) }
        } throws: { error in
            guard case EngineError.tooManyHeld(_, let limit, let from) = error else { return false }
            return limit == 2 && from == entries[0].seq
        }
        #expect(try b.site.channelStatus(nickname: "alice").held == 0)
    }

    @Test func aLocationWithACopiedURLSigAndAnotherSitekeyIsRefused() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        var forged = try b.location("alice")
        forged.sitekey = Base64URL.encode(SigningKeyPair.generate(using: SeededRandom(seed: 666)).publicKey)
        let writer = try a.site.channel(nickname: "alice").writer
        let seq = try a.site.channelStatus(nickname: "alice").vector[writer] + 1
        let entry = ChangeEntry(origin: writer, seq: seq, hlc: HybridTimestamp(milliseconds: TestSite.start + 5, counter: 0),
                                entity: "location", key: forged.siteID.text, op: .put, body: try WireJSON.encodeCanonical(forged))
        let digest = try b.digest("alice")
        #expect(throws: EngineError.self) { try b.site.replay(nickname: "alice", [entry]) }
        #expect(try b.digest("alice") == digest)
    }

    @Test func hugeReportedVectorsDoNotTrapTheStatus() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let other = OriginID.generate(using: SeededRandom(seed: 5)), third = OriginID.generate(using: SeededRandom(seed: 6))
        let writer = try a.site.channel(nickname: "alice").writer
        try b.site.heard(channel: try b.site.channel(nickname: "alice"), from: try a.site.identity().siteID,
                         vector: VersionVector([writer: VersionVector.maxSeq, other: VersionVector.maxSeq, third: VersionVector.maxSeq]),
                         digest: nil)
        let status = try b.site.syncStatus(nickname: "alice")
        #expect(status.locations.first { $0.isSelf }?.lagEntries == UInt64.max)
    }

    @Test func theLogAfterTheLargestSeqIsEmpty() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let writer = try b.site.channel(nickname: "alice").writer
        #expect(try b.site.log(nickname: "alice", origin: writer, after: UInt64.max).isEmpty)
        #expect(try b.site.log(nickname: "alice", origin: writer, after: VersionVector.maxSeq).isEmpty)
    }

    @Test func aSyncPageIsBoundedInBytes() throws {
        let (a, b) = try Self.pair(); defer { a.remove(); b.remove() }
        let big = #"{"text":""# + String(repeating: "x", count: 1000) + #""}"#
        for i in 0..<6 { _ = try a.put("alice", "big\(i)", big) }
        let channel = try a.site.channel(nickname: "alice")
        let answer = try a.site.servePage(channel: channel, to: try b.location("alice"), origin: channel.writer, after: 0, limit: 500,
                                          maxBytes: 5000)
        let page = try b.site.openPage(answer, channel: try b.site.channel(nickname: "alice"), server: try a.location("alice"),
                                       origin: channel.writer, after: 0)
        #expect(page.more && page.entries.count >= 1 && page.entries.count < 8)
        #expect(page.entries.reduce(0) { $0 + $1.body.utf8.count } <= 5000)
    }
}
