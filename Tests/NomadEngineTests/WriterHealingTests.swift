import Foundation
import NomadCrypto
import NomadModel
import NomadStore
import Testing
@testable import NomadEngine

/// A site restored from an old backup reuses sequence numbers of its writer. It must heal —
/// take a new writer, keep every write — instead of halting the channel (DESIGN §3).
@Suite struct WriterHealingTests {
    /// a and b clone alice and know each other's location; b is backed up, then writes x1,
    /// which a applies; then b is restored from the backup (as `restored`).
    static func restoredAfterAWrite() throws -> (a: TestSite, b: TestSite, restored: TestSite, x1: ChangeEntry) {
        let (a, b) = try TestSite.clonedPair()
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        // a acknowledged everything b had queued for it before the backup.
        let packet = try b.site.nextPacket(channel: "alice", to: try a.location("alice"))
        try b.site.acknowledged(channel: try b.site.channel(nickname: "alice"), siteID: try a.site.identity().siteID, positions: packet.positions)
        let copy = try b.backup()
        let x1 = try b.put("alice", "x1", #"{"v":1}"#)
        _ = try a.site.replay(nickname: "alice", [x1])
        return (a, b, try TestSite(restoring: copy, seed: 77, clock: b.clock), x1)
    }

    @Test func aRestoredSiteThatWritesIsRefusedAsAForkAndHealsWithoutLosingAWrite() throws {
        let (a, b, restored, x1) = try Self.restoredAfterAWrite()
        defer { a.remove(); b.remove(); restored.remove() }
        let x2 = try restored.put("alice", "x2", #"{"v":2}"#)
        #expect(x2.origin == x1.origin && x2.seq == x1.seq && x2.id != x1.id, "the restored site reused its seq")

        var refusal: (String, UInt64)?
        do { _ = try a.site.replay(nickname: "alice", [x2]) } catch EngineError.fork(let origin, let seq, _, _) { refusal = (origin, seq) }
        let (origin, seq) = try #require(refusal)
        let healed = try #require(try restored.site.forkAnswered(nickname: "alice", origin: origin, seq: seq))
        #expect(healed.oldWriter == x1.origin && healed.keptThrough == x1.seq - 1 && healed.reissued == 1)

        // What the healed site queued (its new location and x2 again) is accepted by a…
        _ = try a.site.replay(nickname: "alice", try restored.site.log(nickname: "alice", origin: healed.newWriter))
        // …and the entries of its old writer that a holds reach it by the ordinary catch-up.
        _ = try restored.site.replay(nickname: "alice", try a.site.log(nickname: "alice", origin: healed.oldWriter, after: healed.keptThrough))

        #expect(try a.digest("alice") == restored.digest("alice"))
        #expect(try restored.site.channelStatus(nickname: "alice").vector == a.site.channelStatus(nickname: "alice").vector)
        let keys = try restored.site.state(nickname: "alice", entity: "item").map(\.key)
        #expect(keys.contains("x1") && keys.contains("x2"), "a write was lost: \(keys)")
        #expect(try restored.digest("alice") == restored.recomputedDigest("alice"))
        #expect(try a.site.channelStatus(nickname: "alice").diverged == nil && restored.site.channelStatus(nickname: "alice").diverged == nil)
    }

    @Test func aRestoredSiteTakesANewWriterAsSoonAsAPeerReportsMoreOfItsOwn() throws {
        let (a, b, restored, x1) = try Self.restoredAfterAWrite()
        defer { a.remove(); b.remove(); restored.remove() }
        // a's heartbeat reaches the restored site: it reports x1's seq of the restored site's writer.
        let heartbeat = try a.site.nextPacket(channel: "alice", to: try restored.location("alice")).envelope
        let accepted = try restored.site.acceptSync(try restored.site.openSync(heartbeat), token: "t1")
        let healed = try #require(accepted.healed)
        #expect(healed.oldWriter == x1.origin && healed.reissued == 0)
        let x2 = try restored.put("alice", "x2", #"{"v":2}"#)
        #expect(x2.origin == healed.newWriter, "the restored site wrote with its old writer again")
    }

    @Test func writingAfterHearingOfAStaleWriterTakesANewWriterFirst() throws {
        let (a, b, restored, x1) = try Self.restoredAfterAWrite()
        defer { a.remove(); b.remove(); restored.remove() }
        let me = try a.site.identity().siteID
        try restored.site.heard(channel: try restored.site.channel(nickname: "alice"), from: me,
                                vector: try a.site.channelStatus(nickname: "alice").vector, digest: nil)
        let x2 = try restored.put("alice", "x2", #"{"v":2}"#)
        #expect(x2.origin != x1.origin)
        _ = try a.site.replay(nickname: "alice", try restored.site.log(nickname: "alice", origin: x2.origin))
    }

    @Test func theAdminCanDropAnotherWritersEntriesSoTheyAreFetchedAgain() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let writer = try a.site.channel(nickname: "alice").writer
        let before = try a.site.log(nickname: "alice", origin: writer).count
        for i in 0..<3 { _ = try b.site.replay(nickname: "alice", [try a.put("alice", "k\(i)", "{}")]) }
        let digest = try b.digest("alice")
        #expect(try b.site.dropEntries(nickname: "alice", origin: writer, after: UInt64(before)) == 3)
        #expect(try b.digest("alice") != digest)
        #expect(try b.digest("alice") == b.recomputedDigest("alice"))
        _ = try b.site.replay(nickname: "alice", try a.site.log(nickname: "alice", origin: writer, after: UInt64(before)))
        #expect(try b.digest("alice") == digest)
    }
}

/// A report of equal vectors with different digests raises the `diverged` alarm; an equal
/// digest clears it. A fork refusal never does.
@Suite struct DivergedAlarmTests {
    @Test func equalVectorsWithAnotherDigestRaiseTheAlarmAndAnEqualDigestClearsIt() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let channel = try b.site.channel(nickname: "alice")
        let from = try a.site.identity().siteID
        let vector = try b.site.channelStatus(nickname: "alice").vector
        #expect(try b.site.heard(channel: channel, from: from, vector: vector, digest: String(repeating: "0", count: 64)) == .diverged)
        #expect(try b.site.syncStatus(nickname: "alice").diverged != nil)
        #expect(try b.site.heard(channel: channel, from: from, vector: vector, digest: try b.digest("alice")) == .cleared)
        #expect(try b.site.syncStatus(nickname: "alice").diverged == nil)
    }

    @Test func anotherVectorIsNotDivergence() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let channel = try b.site.channel(nickname: "alice")
        #expect(try b.site.heard(channel: channel, from: try a.site.identity().siteID, vector: VersionVector(),
                                 digest: String(repeating: "0", count: 64)) == .unchanged)
    }
}
