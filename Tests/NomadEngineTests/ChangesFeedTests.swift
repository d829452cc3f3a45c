import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// The feed a paired server follows: other clones' changes in arrival order, a cursor that
/// survives restarts, a snapshot to start from, and batches applied once per Idempotency-Key.
struct ChangesFeedTests {
    let sync = PurgeTests()

    @Test func theFeedShowsOtherClonesChangesInOrderAndResumesAtItsCursor() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try sync.deliver(b, to: a)
        let start = try b.site.changes(nickname: "alice", after: nil).cursor
        for i in 0..<3 { _ = try a.put("alice", "k\(i)", #"{"i":\#(i)}"#) }
        _ = try b.put("alice", "mine", "{}")
        try sync.deliver(a, to: b)
        let first = try b.site.changes(nickname: "alice", after: start, limit: 2)
        #expect(first.changes.map(\.key) == ["k0", "k1"] && first.more)
        let second = try b.site.changes(nickname: "alice", after: first.cursor, limit: 2)
        #expect(second.changes.map(\.key) == ["k2"] && !second.more)
        let withLocal = try b.site.changes(nickname: "alice", after: start, includeLocal: true)
        #expect(withLocal.changes.contains { $0.key == "mine" && $0.local })
        // The cursor is a place in the log: the same answer after the site is reopened.
        let reopened = try TestSite(restoring: b.directory, seed: 9, clock: b.clock)
        #expect(try reopened.site.changes(nickname: "alice", after: first.cursor).changes.map(\.key) == ["k2"])
    }

    @Test func anAppendReportsTheDigestTheChannelHasRightAfterIt() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        let before = try a.site.channel(nickname: "alice").digest
        let (entries, digest) = try a.site.appendReportingDigest(nickname: "alice", [Change(entity: "item", key: "k", op: .put, body: "{}")])
        #expect(entries.map(\.key) == ["k"])
        #expect(digest != before)
        #expect(digest == (try a.site.channel(nickname: "alice").digest))
    }

    @Test func theFeedAcrossChannelsNamesEachChange() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try sync.deliver(b, to: a)
        _ = try a.put("alice", "x", "{}")
        try sync.deliver(a, to: b)
        let page = try b.site.changes(nickname: nil, after: nil)
        #expect(page.changes.contains { $0.channel == "alice" && $0.key == "x" })
    }

    @Test func aSnapshotGivesTheStateAndTheCursorToFollowFrom() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try sync.deliver(b, to: a)
        _ = try a.put("alice", "before", "{}")
        try sync.deliver(a, to: b)
        let snapshot = try b.site.feedSnapshot(nickname: "alice")
        #expect(snapshot.state.contains { $0.key == "before" })
        _ = try a.put("alice", "after", "{}")
        try sync.deliver(a, to: b)
        #expect(try b.site.changes(nickname: "alice", after: snapshot.cursor).changes.map(\.key) == ["after"])
    }

    @Test func theSameIdempotencyKeyAppliesABatchOnce() throws {
        let a = try TestSite(seed: 1)
        defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let batch = [Change(entity: "item", key: "once", op: .put, body: "{}")]
        let first = try a.site.append(nickname: "alice", batch, idempotencyKey: "req-1")
        a.clock.advance(by: 1)
        let again = try a.site.append(nickname: "alice", batch, idempotencyKey: "req-1")
        #expect(again == first)
        #expect(try a.site.log(nickname: "alice").filter { $0.key == "once" }.count == 1)
        a.clock.advance(by: Site.idempotencyMilliseconds + 1)
        #expect(try a.site.append(nickname: "alice", batch, idempotencyKey: "req-1") != first, "a key is remembered for 24 h")
        #expect(throws: EngineError.self) { try a.site.append(nickname: "alice", batch, idempotencyKey: "") }
    }

    @Test(arguments: ["x", "-1", "9999999999999999999999"])
    func aCursorThatIsNotOneIsRefused(_ cursor: String) throws {
        let a = try TestSite(seed: 1)
        defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        #expect(throws: EngineError.self) { try a.site.changes(nickname: "alice", after: cursor) }
    }

    @Test func anActivityDeliveredToEveryCloneReachesEachFeedOnce() throws {
        let (a, b) = try TestSite.clonedPair()
        let d = try TestSite(url: "https://d.example", seed: 4)
        defer { a.remove(); b.remove(); d.remove() }
        try sync.deliver(b, to: a)
        _ = try d.site.createChannel(nickname: "dave")
        let messages = ChannelMessageTests()
        let alice = try a.site.channel(nickname: "alice").portableID
        let text = #"{"id":"https://d.example/note/7","type":"Create"}"#
        let startA = try a.site.changes(nickname: "alice", after: nil, includeLocal: true).cursor
        let startB = try b.site.changes(nickname: "alice", after: nil, includeLocal: true).cursor
        // Zot6 delivers to every instance: d sends the same activity to a and to b.
        for site in [a, b] {
            let envelope = try messages.seal(try messages.activity(from: d, "dave", text: text), type: .activity, recipients: [alice],
                                             from: d, to: site)
            _ = try site.site.acceptMessage(try site.site.openMessage(envelope), token: UUID().uuidString)
        }
        try sync.deliver(a, to: b)
        try sync.deliver(b, to: a)
        for (site, start) in [(a, startA), (b, startB)] {
            let inbound = try site.site.changes(nickname: "alice", after: start).changes.filter { $0.entity == "inbound" }
            #expect(inbound.count == 1, "\(inbound.map(\.origin))")
            #expect(inbound.first?.key == "https://d.example/note/7" && inbound.first?.body.contains("note/7") == true)
        }
        #expect(try a.digest("alice") == b.digest("alice"))
    }
}
