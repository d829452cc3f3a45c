import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// Entries checked before the replay's transaction are refused and applied as `apply` alone
/// would refuse and apply them.
@Suite struct CheckedEntriesTests {
    @Test func theCheckRefusesATamperedEntryAsApplyDoes() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let good = try a.put("alice", "k1", #"{"v":1}"#)
        let victim = try a.put("alice", "k2", #"{"v":2}"#)
        let tampered = ChangeEntry(id: victim.id, origin: victim.origin, seq: victim.seq, hlc: victim.hlc,
                                   entity: victim.entity, key: victim.key, op: victim.op, body: #"{"v":666}"#)
        #expect {
            try ReplayEngine().check([good, tampered])
        } throws: { error in
            guard case EngineError.invalidEntry(let index, let id, _) = error else { return false }
            return index == 1 && id == victim.id
        }
    }

    @Test func checkedEntriesApplyAsTheSameEntriesUnchecked() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let entries = try (0..<5).map { try a.put("alice", "k\($0)", #"{"n":\#($0)}"#) }
        let engine = ReplayEngine()
        let checked = try engine.check(Array(entries.prefix(3)))
        let channel = try b.site.channel(nickname: "alice")
        let report = try b.site.store.write { tx in
            try engine.apply(checked, plus: Array(entries.suffix(2)), to: channel.record, in: tx, now: TestSite.start + 10_000)
        }
        #expect(report.applied == 5 && report.duplicate == 0)
        let logged = Set(try b.site.log(nickname: "alice").map(\.id))
        #expect(entries.allSatisfy { logged.contains($0.id) })
    }

    @Test func entriesCheckedAgainstLooserLimitsAreCheckedAgain() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let entry = try a.put("alice", "k", #"{"text":"longer than ten bytes"}"#)
        let checked = try ReplayEngine().check([entry])
        var strict = WireLimits.standard
        strict.maxEntryBodyBytes = 10
        let channel = try b.site.channel(nickname: "alice")
        let digest = try b.digest("alice")
        #expect {
            try b.site.store.write { tx in try ReplayEngine(limits: strict).apply(checked, to: channel.record, in: tx, now: TestSite.start + 10_000) }
        } throws: { error in
            guard case EngineError.invalidEntry(0, entry.id, _) = error else { return false }
            return true
        }
        #expect(try b.digest("alice") == digest)
    }

    @Test func aBatchOverTheLimitIsRefusedByTheCheck() throws {
        let a = try TestSite(); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let entries = try (0..<3).map { try a.put("alice", "k\($0)", "{}") }
        var limits = WireLimits.standard
        limits.maxEntriesPerPacket = 2
        #expect(throws: EngineError.tooManyEntries(count: 3, limit: 2)) { try ReplayEngine(limits: limits).check(entries) }
    }
}
