import Foundation
import GRDB
import NomadCrypto
import NomadModel
import Testing
@testable import NomadStore

/// An acknowledged packet leaves the outbox of its location: exactly its positions, whether they
/// form one run, several, or repeat.
@Suite struct OutboxDequeueTests {
    let origin = OriginID.generate(using: SystemRandom())
    let b = SiteID(url: "https://b.example", publicKey: [UInt8](repeating: 1, count: 32))
    let c = SiteID(url: "https://c.example", publicKey: [UInt8](repeating: 2, count: 32))

    /// A new store with one channel of ten entries (positions 1 to 10), each queued for b and c.
    func storeWithTenQueued() throws -> (store: Store, dir: String) {
        let dir = NSTemporaryDirectory() + "nomadsync-outbox-\(UUID().uuidString)"
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        try store.write { tx in
            try tx.db.execute(sql: """
                INSERT INTO channel (id, nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, created_at)
                VALUES (1, 'alice', 'Alice', 'g', 'p', zeroblob(32), x'00', ?, zeroblob(32), '2026-01-01')
                """, arguments: [origin.text])
            for seq in UInt64(1)...10 {
                let e = ChangeEntry(origin: origin, seq: seq, hlc: HybridTimestamp(rawValue: 1_000 + seq), entity: "item", key: "k\(seq)",
                                    op: .put, body: #"{"n":\#(seq)}"#)
                try tx.db.execute(sql: LedgerSQL.insertEntry, arguments: [1, e.id, e.origin.text, Int64(seq), Int64(e.hlc.rawValue),
                                                                          e.entity, e.key, e.op.rawValue, e.body, 1])
                try tx.enqueue(channel: 1, origin: origin, seq: seq, for: b)
                try tx.enqueue(channel: 1, origin: origin, seq: seq, for: c)
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
}
