import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

@Suite struct ReplayEngineTests {
    @Test func localChangesTakeConsecutiveSeqsOfThisWriter() throws {
        let a = try TestSite(); defer { a.remove() }
        let channel = try a.site.createChannel(nickname: "alice")
        let e1 = try a.put("alice", "k1", "{}")
        let e2 = try a.put("alice", "k2", "{}")
        #expect(e1.origin == channel.writer && e2.origin == channel.writer)
        #expect(e2.seq == e1.seq + 1)
        #expect(e2.hlc > e1.hlc)
        #expect(try a.site.channelStatus(nickname: "alice").vector[channel.writer] == e2.seq)
    }

    @Test func replayingTheSameEntriesTwiceChangesNothing() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let entries = try (0..<5).map { try a.put("alice", "k\($0)", "{\"n\":\($0)}") }
        let first = try b.site.replay(nickname: "alice", entries)
        #expect(first.applied == 5 && first.duplicate == 0)
        let digest = try b.digest("alice")
        let again = try b.site.replay(nickname: "alice", entries + entries)
        #expect(again.applied == 0 && again.duplicate == 10)
        #expect(try b.digest("alice") == digest)
    }

    @Test func aGapIsHeldReportedAndReleasedWhenFilled() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let e = try (0..<4).map { try a.put("alice", "k\($0)", "{}") }
        let held = try b.site.replay(nickname: "alice", [e[2], e[3]])
        #expect(held.applied == 0 && held.held == 2)
        #expect(held.missing == [MissingRange(origin: e[0].origin, from: e[0].seq, through: e[1].seq)])
        let filled = try b.site.replay(nickname: "alice", [e[1], e[0]])
        #expect(filled.applied == 4 && filled.held == 0 && filled.missing.isEmpty)
        #expect(try b.site.channelStatus(nickname: "alice").held == 0)
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        #expect(try b.digest("alice") == a.digest("alice"))
    }

    @Test func aTamperedEntryRefusesTheWholeBatch() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let good = try a.put("alice", "k1", "{\"v\":1}")
        let victim = try a.put("alice", "k2", "{\"v\":2}")
        let tampered = ChangeEntry(id: victim.id, origin: victim.origin, seq: victim.seq, hlc: victim.hlc,
                                   entity: victim.entity, key: victim.key, op: victim.op, body: "{\"v\":666}")
        let before = try b.site.channelStatus(nickname: "alice")
        #expect {
            try b.site.replay(nickname: "alice", [good, tampered])
        } throws: { error in
            guard case EngineError.invalidEntry(let index, let id, _) = error else { return false }
            return index == 1 && id == victim.id
        }
        let after = try b.site.channelStatus(nickname: "alice")
        #expect(after.digest == before.digest && after.entries == before.entries && after.vector == before.vector)
    }

    @Test func aStreamReplayedInBatchesIsAppliedWholeOrNotAtAll() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let entries = try (0..<6).map { try a.put("alice", "k\($0)", "{\"n\":\($0)}") }
        let victim = entries[4]
        let tampered = ChangeEntry(id: victim.id, origin: victim.origin, seq: victim.seq, hlc: victim.hlc,
                                   entity: victim.entity, key: victim.key, op: victim.op, body: "{\"n\":666}")
        let before = try b.site.channelStatus(nickname: "alice")
        var bad = [Array(entries[0..<3]), [entries[3], tampered, entries[5]]].makeIterator()
        #expect(throws: EngineError.self) { try b.site.replay(nickname: "alice") { bad.next() } }
        let after = try b.site.channelStatus(nickname: "alice")
        #expect(after.digest == before.digest && after.entries == before.entries)  // the first batch too was rolled back
        // Out of order across batches: the later half is held, then released by the earlier half.
        var good = [Array(entries[3...]), Array(entries[0..<3])].makeIterator()
        let report = try b.site.replay(nickname: "alice") { good.next() }
        #expect(report.applied == 6 && report.held == 0)
        #expect(try b.site.channelStatus(nickname: "alice").entries == before.entries + 6)
        #expect(report.digest == (try b.digest("alice")))
    }

    @Test func reusingAHeldPlaceIsAForkThatChangesNothing() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let original = try a.put("alice", "k1", "{\"v\":1}")
        _ = try b.site.replay(nickname: "alice", [original])
        let before = try b.site.channelStatus(nickname: "alice")
        let rewritten = ChangeEntry(origin: original.origin, seq: original.seq, hlc: original.hlc,
                                    entity: "item", key: "k1", op: .put, body: "{\"v\":2}")
        #expect {
            try b.site.replay(nickname: "alice", [rewritten])
        } throws: { error in
            guard case EngineError.fork(_, let seq, let held, let offered) = error else { return false }
            return seq == original.seq && held == original.id && offered == rewritten.id
        }
        let after = try b.site.channelStatus(nickname: "alice")
        #expect(after.digest == before.digest && after.entries == before.entries)
        #expect(after.diverged == nil, "a refused packet raised the diverged alarm")
    }

    @Test func aForkAgainstAHeldEntryIsRefusedToo() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k1", "{}")
        let ahead = try a.put("alice", "k2", "{}")
        _ = try b.site.replay(nickname: "alice", [ahead])  // held: k1 is missing
        let rival = ChangeEntry(origin: ahead.origin, seq: ahead.seq, hlc: ahead.hlc, entity: "item", key: "k2", op: .put, body: "[]")
        #expect(throws: EngineError.self) { try b.site.replay(nickname: "alice", [rival]) }
    }

    @Test func anEntryStampedOverAnHourAheadIsRefused() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        a.clock.advance(by: 3_600_000 + 5_000)
        let future = try a.put("alice", "k1", "{}")
        let before = try b.digest("alice")
        #expect {
            try b.site.replay(nickname: "alice", [future])
        } throws: { error in
            guard case EngineError.clockSkew(let id, _, let ahead) = error else { return false }
            return id == future.id && ahead > 3_600_000
        }
        #expect(try b.digest("alice") == before)
        b.clock.advance(by: 10_000)  // within the hour now
        #expect(try b.site.replay(nickname: "alice", [future]).applied == 1)
    }

    @Test func theGreaterClockWinsWhateverTheArrivalOrder() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let older = try a.put("alice", "doc", "{\"v\":\"old\"}")
        b.clock.advance(by: 100)
        let newer = try b.put("alice", "doc", "{\"v\":\"new\"}")
        #expect(newer.hlc > older.hlc)
        // b's log holds its location entry and then `newer`; a holds `older`.
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        _ = try b.site.replay(nickname: "alice", try a.site.log(nickname: "alice"))
        for s in [a, b] {
            #expect(try s.site.state(nickname: "alice", entity: "item").map(\.body) == ["{\"v\":\"new\"}"])
        }
        #expect(try a.digest("alice") == b.digest("alice"))
    }

    @Test func aDeleteIsATombstoneThatWinsAndIsKept() throws {
        let a = try TestSite(); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        _ = try a.put("alice", "doc", "{}")
        let tomb = try a.delete("alice", "doc")
        #expect(try a.site.state(nickname: "alice", entity: "item").isEmpty)
        let rows = try a.site.state(nickname: "alice", entity: "item", includeDeleted: true)
        #expect(rows.map(\.entryID) == [tomb.id] && rows[0].op == .delete)
    }

    @Test func theRunningDigestEqualsTheDigestComputedFromScratch() throws {
        let a = try TestSite(); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        for i in 0..<30 { _ = try a.put("alice", "k\(i % 7)", "{\"i\":\(i)}") }
        _ = try a.delete("alice", "k3")
        #expect(try a.digest("alice") == a.recomputedDigest("alice"))
    }

    @Test func aBadLocalChangeWritesNothing() throws {
        let a = try TestSite(); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let before = try a.site.channelStatus(nickname: "alice")
        #expect(throws: EngineError.self) {
            try a.site.append(nickname: "alice", [
                Change(entity: "item", key: "ok", op: .put, body: "{}"),
                Change(entity: "item", key: "bad", op: .put, body: "{oops"),
            ])
        }
        #expect(try a.site.channelStatus(nickname: "alice") == before)
    }

    @Test func aBatchOverTheLimitIsRefused() throws {
        let a = try TestSite(); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        var limits = WireLimits.standard
        limits.maxEntriesPerPacket = 2
        let entries = try a.site.log(nickname: "alice")
        #expect(throws: EngineError.tooManyEntries(count: entries.count * 2, limit: 2)) {
            try a.site.replay(nickname: "alice", entries + entries, limits: limits)
        }
    }
}
