import Foundation
import GRDB
import NomadCrypto
import NomadModel
import Testing
@testable import NomadStore

/// The log writer's statements bypass GRDB's argument and row objects; they must store and read
/// exactly what GRDB would, and fail with an error, never a trap.
@Suite struct DirectStatementTests {
    func withTable<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        let store = try Store.inMemory(random: SystemRandom())
        return try store.write { tx in
            try tx.db.execute(sql: "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
            return try body(tx)
        }
    }

    @Test func aStringWithANulByteIsStoredWhole() throws {
        let text = "before\u{0}after é"
        let stored = try withTable { tx in
            try DirectStatement(tx.db, sql: "INSERT INTO t (a, b) VALUES (?, ?)").run { try $0.bind(1, 1); try $0.bind(2, text) }
            return try String.fetchOne(tx.db, sql: "SELECT hex(b) FROM t WHERE a = 1")
        }
        #expect(stored == Array(text.utf8).map { String(format: "%02X", $0) }.joined())
    }

    @Test func anEmptyStringIsNotNull() throws {
        let read = try withTable { tx in
            try DirectStatement(tx.db, sql: "INSERT INTO t (a, b) VALUES (?, ?)").run { try $0.bind(1, 1); try $0.bind(2, "") }
            return try DirectStatement(tx.db, sql: "SELECT b FROM t WHERE a = ?").first({ try $0.bind(1, 1) }) { try $0.text(0) }
        }
        #expect(read == "")
    }

    @Test func aNullWhereTextIsExpectedIsAnError() throws {
        #expect(throws: StoreError.self) {
            try withTable { tx in
                try tx.db.execute(sql: "INSERT INTO t (a, b) VALUES (1, NULL)")
                return try DirectStatement(tx.db, sql: "SELECT b FROM t WHERE a = ?").first({ try $0.bind(1, 1) }) { try $0.text(0) }
            }
        }
    }

    @Test func aConstraintFailureIsAnErrorAndTheStatementStaysUsable() throws {
        let count = try withTable { tx -> Int? in
            let insert = try DirectStatement(tx.db, sql: "INSERT INTO t (a, b) VALUES (?, ?)")
            try insert.run { try $0.bind(1, 1); try $0.bind(2, "x") }
            #expect(throws: StoreError.self) { try insert.run { try $0.bind(1, 1); try $0.bind(2, "y") } }
            try insert.run { try $0.bind(1, 2); try $0.bind(2, "z") }
            return try Int.fetchOne(tx.db, sql: "SELECT COUNT(*) FROM t")
        }
        #expect(count == 2)
    }

    @Test func noRowIsNil() throws {
        let read = try withTable { tx in
            try DirectStatement(tx.db, sql: "SELECT b FROM t WHERE a = ?").first({ try $0.bind(1, 7) }) { try $0.text(0) }
        }
        #expect(read == nil)
    }
}
