import Foundation
import GRDB
import NomadCrypto
import NomadModel
import Testing
@testable import NomadStore

/// Migration v19 rebuilds the log without its index on entry ids. A data directory written
/// before it must come through with every entry, every queued delivery and every remembered
/// Idempotency-Key, and the lookups that used the id index must still find their rows.
@Suite struct EntryIndexMigrationTests {
    let origin = OriginID.generate(using: SystemRandom())
    let other = SiteID(url: "https://b.example", publicKey: [UInt8](repeating: 1, count: 32))

    func entry(_ seq: UInt64, entity: String = "profile", key: String = "main") -> ChangeEntry {
        ChangeEntry(origin: origin, seq: seq, hlc: HybridTimestamp(rawValue: 1_000 + seq), entity: entity, key: key,
                    op: .put, body: #"{"n":\#(seq)}"#)
    }

    /// A data directory whose database stops at v18, with one channel, five entries, two queued
    /// for another site, and an Idempotency-Key naming entries 4 and 2 (stored by id, as v18 did).
    func directoryBeforeV19() throws -> (dir: String, entries: [ChangeEntry]) {
        let dir = NSTemporaryDirectory() + "nomadsync-v19-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = Store.sqliteOptionsSet  // before SQLite's first connection in this process, as `Store` does
        var config = Configuration()
        config.foreignKeysEnabled = true
        let queue = try DatabaseQueue(path: dir + "/" + Store.databaseName, configuration: config)
        try Schema.migrator.migrate(queue, upTo: "v18-pending-held-at")
        let entries = (1...5).map { entry($0) }
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO channel (id, nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, created_at)
                VALUES (1, 'alice', 'Alice', 'g', 'p', zeroblob(32), x'00', ?, zeroblob(32), '2026-01-01')
                """, arguments: [origin.text])
            for e in entries {
                try db.execute(sql: LedgerSQL.insertEntry, arguments: [1, e.id, e.origin.text, Int64(e.seq), Int64(e.hlc.rawValue),
                                                                       e.entity, e.key, e.op.rawValue, e.body, 1])
            }
            try db.execute(sql: "INSERT INTO outbox (channel, site_id, position) VALUES (1, ?1, 3), (1, ?1, 5)", arguments: [other.text])
            try db.execute(sql: "INSERT INTO idempotency_key (channel, key, entry_ids, created_at) VALUES (1, 'k', ?, 10)",
                           arguments: [try WireJSON.encode([entries[3].id, entries[1].id])])
        }
        return (dir, entries)
    }

    @Test func theLogKeepsEveryEntryAtItsPosition() throws {
        let (dir, entries) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        let log = try store.read { try $0.entries(channel: 1, afterPosition: 0, limit: 100) }
        #expect(log.map(\.position) == [1, 2, 3, 4, 5])
        #expect(log.map(\.entry) == entries)
    }

    @Test func queuedDeliveriesSurviveTheRebuild() throws {
        let (dir, entries) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        let queued = try store.read { try $0.queued(channel: 1, for: other, limit: 10) }
        #expect(queued.map(\.entry) == [entries[2], entries[4]])
        #expect(try store.read { try Row.fetchAll($0.db, sql: "PRAGMA foreign_key_check") }.isEmpty)
    }

    @Test func aRememberedIdempotencyKeyStillAnswersItsEntriesInOrder() throws {
        let (dir, entries) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        #expect(try store.read { try $0.idempotentEntries(channel: 1, key: "k", since: 0) } == [entries[1], entries[3]])
    }

    @Test func noIndexOnEntryIdsIsLeftExceptThePartialOne() throws {
        let (dir, _) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        let indexes = try store.read { tx in
            try Row.fetchAll(tx.db, sql: "SELECT name, partial FROM pragma_index_list('entry')").map { row -> (String, Bool, [String]) in
                let name: String = row["name"]
                let columns = try String.fetchAll(tx.db, sql: "SELECT name FROM pragma_index_info(?)", arguments: [name])
                return (name, row["partial"] as Int64 == 1, columns)
            }
        }
        let byID = indexes.filter { $0.2.contains("id") }
        #expect(byID.count == 1, "\(indexes)")
        #expect(byID.first?.1 == true, "\(indexes)")
    }

    @Test func theQueuedDeliveriesBecomeOneRunPerIslandOfPositions() throws {
        let (dir, _) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        let withoutRowID = try store.read { try Int.fetchOne($0.db, sql: "SELECT wr FROM pragma_table_list WHERE name = 'outbox_run'") }
        #expect(withoutRowID == 1)
        let runs = try store.read { try Row.fetchAll($0.db, sql: "SELECT first, last FROM outbox_run ORDER BY first") }
        #expect(runs.map { [$0[0] as Int64, $0[1] as Int64] } == [[3, 3], [5, 5]])
        #expect(try store.read { try $0.outboxDepths(channel: 1) } == [other: 2])
    }

    @Test func anEntryIdCannotRepeatInAChannel() throws {
        let (dir, entries) = try directoryBeforeV19(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        #expect(throws: (any Error).self) { try store.write { try $0.insertEntry(channel: 1, entries[0]) } }
    }
}

/// The lookups that replaced the id index each take an index, never a scan of the log.
@Suite struct EntryLookupPlanTests {
    func plan(_ sql: String) throws -> String { try queryPlan(sql) }

    @Test func aStateRowsKeyOrLocationEntryIsFoundThroughThePartialIndex() throws {
        let plan = try plan("SELECT * FROM entry WHERE channel = 1 AND id = 'x' AND entity IN ('key', 'location')")
        #expect(plan.contains("entry_document_by_id"), "\(plan)")
    }

    @Test func anEntryIsFoundAtItsOriginAndSeq() throws {
        let plan = try plan(LedgerSQL.entryPosition.replacingOccurrences(of: "?", with: "'x'"))
        #expect(plan.contains("(channel=? AND origin=? AND seq=?)"), "\(plan)")
    }

    @Test func anAppendsPositionsAreARangeOfTheOriginAndSeqIndex() throws {
        let plan = try plan(LedgerSQL.entryPositions.replacingOccurrences(of: "?", with: "'x'"))
        #expect(plan.contains("(channel=? AND origin=? AND seq>? AND seq<?)"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }

    @Test func aLocationsLastRunIsOneSeekOfTheOutboxKey() throws {
        let plan = try plan(LedgerSQL.lastOutboxRun.replacingOccurrences(of: "?", with: "'x'"))
        #expect(plan.contains("PRIMARY KEY (channel=? AND site_id=?)"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }

    @Test func theRunBeforeAPositionIsOneSeekOfTheOutboxKey() throws {
        let plan = try plan(LedgerSQL.outboxRunBefore.replacingOccurrences(of: "?", with: "'x'"))
        #expect(plan.contains("PRIMARY KEY (channel=? AND site_id=? AND first<?)"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }
}
