import Foundation
import NomadCrypto
import Testing
@testable import NomadStore
import GRDB
import GRDBSQLite

@Suite struct StoreTests {
    func tempDir() -> String { NSTemporaryDirectory() + "nomadsync-store-\(UUID().uuidString)" }

    @Test func createsTheHostKeyOwnerOnly() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Store.open(directory: dir, create: true, random: SystemRandom())
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/host.key")
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attrs[.size] as? NSNumber)?.intValue == 32)
    }

    @Test func refusesAHostKeyOthersCanRead() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Store.open(directory: dir, create: true, random: SystemRandom())
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/host.key")
        #expect(throws: StoreError.self) { try Store.open(directory: dir, random: SystemRandom()) }
    }

    @Test func refusesAMissingDataDirectoryUnlessCreating() {
        #expect(throws: StoreError.notInitialised("/nonexistent/nomadsync")) {
            try Store.open(directory: "/nonexistent/nomadsync", random: SystemRandom())
        }
    }

    @Test func sqliteKeepsNoMemoryStatisticsOnceAStoreIsOpen() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        _ = try store.read { tx in try tx.site() }
        #expect(Store.sqliteOptionsSet)
        // With the statistics on, every connection's allocations are counted here.
        #expect(sqlite3_memory_used() == 0)
    }

    @Test func sealedSecretsOpenOnlyWithTheirHostKey() throws {
        let dirA = tempDir(), dirB = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dirA); try? FileManager.default.removeItem(atPath: dirB) }
        let a = try Store.open(directory: dirA, create: true, random: SystemRandom())
        let b = try Store.open(directory: dirB, create: true, random: SystemRandom())
        let sealed = try a.sealSecret(SecureBytes([1, 2, 3]), random: SystemRandom())
        #expect(try a.openSecret(sealed, what: "test").revealedCopy() == [1, 2, 3])
        #expect(throws: StoreError.secretUnreadable("test")) { try b.openSecret(sealed, what: "test") }
    }
}

/// The plan SQLite chooses for `sql` on a new store's schema, its steps joined by "; ".
func queryPlan(_ sql: String) throws -> String {
    let dir = NSTemporaryDirectory() + "nomadsync-plan-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try Store.open(directory: dir, create: true, random: SystemRandom())
    return try store.read { tx in
        try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
    }
}

/// Paging through one channel's log must walk an index in order, not sort the channel's whole
/// log for every page (quadratic in the length of the log).
@Suite struct LogPagingPlanTests {
    func plan(_ sql: String) throws -> String { try queryPlan(sql) }

    @Test(arguments: [
        "SELECT position, body FROM entry WHERE channel = 1 AND position > 5 ORDER BY position LIMIT 1000",
        "SELECT position, body FROM inbound_message WHERE channel = 1 AND position > 5 ORDER BY position LIMIT 1000",
        "SELECT position, body FROM entry WHERE position > 5 AND channel = 1 AND (local = 0 OR entity = 'inbound') ORDER BY position LIMIT 100",
    ])
    func aPageOfOneChannelIsReadInIndexOrder(sql: String) throws {
        let plan = try plan(sql)
        #expect(plan.contains("_by_channel_position (channel=? AND position>?)"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }
}
