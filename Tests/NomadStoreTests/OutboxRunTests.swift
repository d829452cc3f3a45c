import Foundation
import GRDB
import NomadCrypto
import NomadModel
import Testing
@testable import NomadStore

/// The outbox as runs of log positions: a location's queue is exactly the positions queued for it
/// and not yet acknowledged, whatever runs they were queued and acknowledged in.
@Suite struct OutboxRunTests {
    let origin = OriginID.generate(using: SystemRandom())
    let b = SiteID(url: "https://b.example", publicKey: [UInt8](repeating: 1, count: 32))
    let c = SiteID(url: "https://c.example", publicKey: [UInt8](repeating: 2, count: 32))

    /// A new store with one channel of `count` entries (positions 1 to `count`), each queued for
    /// b and c unless `queued` is false.
    func storeWithTenQueued(count: UInt64 = 10, queued: Bool = true) throws -> (store: Store, dir: String) {
        let dir = NSTemporaryDirectory() + "nomadsync-outbox-\(UUID().uuidString)"
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        try store.write { tx in
            try tx.db.execute(sql: """
                INSERT INTO channel (id, nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, created_at)
                VALUES (1, 'alice', 'Alice', 'g', 'p', zeroblob(32), x'00', ?, zeroblob(32), '2026-01-01')
                """, arguments: [origin.text])
            for seq in UInt64(1)...count {
                let e = ChangeEntry(origin: origin, seq: seq, hlc: HybridTimestamp(rawValue: 1_000 + seq), entity: "item", key: "k\(seq)",
                                    op: .put, body: #"{"n":\#(seq)}"#)
                try tx.db.execute(sql: LedgerSQL.insertEntry, arguments: [1, e.id, e.origin.text, Int64(seq), Int64(e.hlc.rawValue),
                                                                          e.entity, e.key, e.op.rawValue, e.body, 1])
                if queued {
                    try tx.enqueue(channel: 1, origin: origin, seq: seq, for: b)
                    try tx.enqueue(channel: 1, origin: origin, seq: seq, for: c)
                }
            }
        }
        return (store, dir)
    }

    func queuedPositions(_ store: Store, for site: SiteID) throws -> [Int64] {
        try store.read { try $0.queued(channel: 1, for: site, limit: 100) }.map(\.position)
    }

    @Test func acknowledgedPositionsLeaveTheirLocationsQueueAndNoOthers() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.dequeue(channel: 1, for: b, positions: [9, 2, 3, 4, 7, 3]) }
        #expect(try queuedPositions(store, for: b) == [1, 5, 6, 8, 10])
        #expect(try queuedPositions(store, for: c) == Array(1...10))
    }

    @Test func aPacketOfOneRunEmptiesTheQueue() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.dequeue(channel: 1, for: c, positions: Array(1...10)) }
        #expect(try queuedPositions(store, for: c).isEmpty)
        try store.write { try $0.dequeue(channel: 1, for: c, positions: []) }
        #expect(try queuedPositions(store, for: b).count == 10)
    }

    @Test func positionsBecomeSortedRunsOfConsecutiveValues() {
        #expect(StoreTransaction.runs(of: [7, 2, 3, 1, 3]) == [1...3, 7...7])
        #expect(StoreTransaction.runs(of: []) == [])
        #expect(StoreTransaction.runs(of: [5]) == [5...5])
        #expect(StoreTransaction.runs(of: [4, 6, 8]) == [4...4, 6...6, 8...8])
        // The largest values do not overflow the run's next position.
        #expect(StoreTransaction.runs(of: [.max, .max - 1, .min]) == [Int64.min...Int64.min, (Int64.max - 1)...Int64.max])
    }

    func runs(_ store: Store, for site: SiteID) throws -> [[Int64]] {
        try store.read { tx in
            try Row.fetchAll(tx.db, sql: "SELECT first, last FROM outbox_run WHERE channel = 1 AND site_id = ? ORDER BY first",
                             arguments: [site.text]).map { [$0[0] as Int64, $0[1] as Int64] }
        }
    }

    @Test func entriesQueuedOneByOneInOrderAreOneRun() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try runs(store, for: b) == [[1, 10]])
        #expect(try store.read { try $0.outboxDepths(channel: 1) } == [b: 10, c: 10])
    }

    @Test func aPositionBetweenTwoRunsJoinsThem() throws {
        let (store, dir) = try storeWithTenQueued(queued: false); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.enqueue(channel: 1, positions: [1, 2, 3, 5, 6, 9], for: b) }
        #expect(try runs(store, for: b) == [[1, 3], [5, 6], [9, 9]])
        try store.write { try $0.enqueue(channel: 1, positions: [4], for: b) }
        #expect(try runs(store, for: b) == [[1, 6], [9, 9]])
        try store.write { try $0.enqueue(channel: 1, positions: [2, 3, 4, 5, 6, 7, 8], for: b) }
        #expect(try runs(store, for: b) == [[1, 9]])
        #expect(try queuedPositions(store, for: b) == Array(1...9))
    }

    @Test func queuingWhatIsQueuedChangesNothing() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.enqueue(channel: 1, positions: [3, 4, 10], for: b) }
        #expect(try runs(store, for: b) == [[1, 10]])
    }

    @Test func acknowledgingTheMiddleOfARunSplitsIt() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.dequeue(channel: 1, for: b, positions: [4, 5, 6]) }
        #expect(try runs(store, for: b) == [[1, 3], [7, 10]])
        #expect(try store.read { try $0.outboxDepths(channel: 1) } == [b: 7, c: 10])
    }

    @Test func acknowledgingAcrossSeveralRunsCutsEachOfThem() throws {
        let (store, dir) = try storeWithTenQueued(queued: false); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.enqueue(channel: 1, positions: [1, 2, 3, 4, 5, 7, 8, 9], for: b) }
        try store.write { try $0.dequeue(channel: 1, for: b, positions: [3, 4, 5, 6, 7, 8]) }
        #expect(try runs(store, for: b) == [[1, 2], [9, 9]])
        #expect(try queuedPositions(store, for: b) == [1, 2, 9])
    }

    @Test func theQueueAfterAPositionInsideARunStartsPastIt() throws {
        let (store, dir) = try storeWithTenQueued(queued: false); defer { try? FileManager.default.removeItem(atPath: dir) }
        try store.write { try $0.enqueue(channel: 1, positions: [1, 2, 3, 4, 6, 7, 9, 10], for: b) }
        #expect(try store.read { try $0.queued(channel: 1, for: b, after: 2, limit: 3) }.map(\.position) == [3, 4, 6])
        #expect(try store.read { try $0.queued(channel: 1, for: b, after: 6, limit: 10) }.map(\.position) == [7, 9, 10])
        #expect(try store.read { try $0.queued(channel: 1, for: b, after: 10, limit: 10) }.isEmpty)
    }

    @Test func entriesTakenOutOfTheLogLeaveEveryQueue() throws {
        let (store, dir) = try storeWithTenQueued(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let removed = try store.write { try $0.removeEntries(channel: 1, origin: origin, after: 7) }
        #expect(removed.map(\.seq) == [8, 9, 10])
        #expect(try runs(store, for: b) == [[1, 7]])
        #expect(try runs(store, for: c) == [[1, 7]])
        #expect(try store.read { try $0.outboxDepths(channel: 1) } == [b: 7, c: 7])
    }

    /// Random queuing and acknowledging against a set of positions: the queue, its depth and the
    /// runs (sorted, disjoint, never touching) always agree with the set.
    @Test func randomQueuingAndAcknowledgingMatchesASetOfPositions() throws {
        let (store, dir) = try storeWithTenQueued(count: 40, queued: false); defer { try? FileManager.default.removeItem(atPath: dir) }
        let random = SeededRandom(seed: 12)
        var model = Set<Int64>()
        for step in 0..<300 {
            let bytes = random.bytes(3)
            let start = Int64(bytes[0] % 40) + 1, length = Int64(bytes[1] % 6)
            let positions = (start...min(40, start + length)).filter { _ in random.bytes(1)[0] % 4 != 0 }
            if bytes[2] % 2 == 0 {
                try store.write { try $0.enqueue(channel: 1, positions: positions, for: b) }
                model.formUnion(positions)
            } else {
                try store.write { try $0.dequeue(channel: 1, for: b, positions: positions) }
                model.subtract(positions)
            }
            #expect(try queuedPositions(store, for: b) == model.sorted(), "step \(step)")
            #expect(try store.read { try $0.outboxDepths(channel: 1)[b] ?? 0 } == model.count, "step \(step)")
            let stored = try runs(store, for: b)
            #expect(zip(stored, stored.dropFirst()).allSatisfy { $0[1] + 1 < $1[0] } && stored.allSatisfy { $0[0] <= $0[1] },
                    "step \(step): \(stored)")
        }
    }
}
