import Foundation
import Testing
@testable import NomadStore
import NomadCrypto

/// A long-poll waits on the store's commits: a write ends its wait, a write it missed ends it at
/// once, and with no write it still ends at its time (to look for other processes' writes).
@Suite struct CommitSignalTests {
    func store() throws -> (Store, String) {
        let dir = NSTemporaryDirectory() + "nomadsync-commits-\(UUID().uuidString)"
        return (try Store.open(directory: dir, create: true, random: SystemRandom()), dir)
    }

    /// Runs `wait` against a 20 s deadline; true if `wait` came back first.
    func endsBeforeTheDeadline(_ wait: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await wait(); return true }
            group.addTask { try? await Task.sleep(for: .seconds(20)); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @Test func aWriteEndsAWaitLongerThanTheTest() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seen = store.commits.count
        let writer = Task {
            try await Task.sleep(for: .milliseconds(200))
            try store.write { tx in try tx.db.execute(sql: "CREATE TABLE t (x)") }
        }
        #expect(await endsBeforeTheDeadline { await store.commits.wait(after: seen, milliseconds: 600_000) })
        try await writer.value
        #expect(store.commits.count == seen + 1)
    }

    @Test func aWriteBeforeTheWaitEndsItAtOnce() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seen = store.commits.count
        try store.write { tx in try tx.db.execute(sql: "CREATE TABLE t (x)") }
        #expect(await endsBeforeTheDeadline { await store.commits.wait(after: seen, milliseconds: 600_000) })
    }

    @Test func aReadDoesNotEndAWait() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seen = store.commits.count
        _ = try store.read { tx in try Int.fetchOne(tx.db, sql: "SELECT 1") }
        #expect(store.commits.count == seen)
    }

    @Test func withoutAWriteTheWaitEndsAtItsTime() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seen = store.commits.count
        #expect(await endsBeforeTheDeadline { await store.commits.wait(after: seen, milliseconds: 50) })
        #expect(store.commits.count == seen)
    }
}
