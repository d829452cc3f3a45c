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

/// The log's paging reads (a sending site's queue, an origin's pages, log show and export) go
/// through `DirectStatement`; they must read the entries GRDB's rows read, byte for byte.
@Suite struct DirectEntryReadTests {
    static let texts = ["plain", "é ü ß", "e\u{301}", "€ ☃ \u{2028}", "😀", #"say "hi" \ there"#, "tab\there", ""]

    /// A store with one channel whose log interleaves two origins, with hostile keys and bodies.
    func storeWithTwoOrigins() throws -> (store: Store, origins: [OriginID], dir: String) {
        let dir = NSTemporaryDirectory() + "nomadsync-direct-\(UUID().uuidString)"
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        let origins = [OriginID.generate(using: SeededRandom(seed: 1)), OriginID.generate(using: SeededRandom(seed: 2))]
        try store.write { tx in
            try tx.db.execute(sql: """
                INSERT INTO channel (id, nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, created_at)
                VALUES (1, 'alice', 'Alice', 'g', 'p', zeroblob(32), x'00', ?, zeroblob(32), '2026-01-01')
                """, arguments: [origins[0].text])
            var seqs = [UInt64](repeating: 0, count: 2)
            for index in 0..<40 {
                let which = index % 3 == 0 ? 1 : 0
                seqs[which] += 1
                let text = Self.texts[index % Self.texts.count]
                let body = index % 5 == 4 ? "" : #"{"t":"# + (try WireJSON.encode(text)) + "}"
                try tx.insertEntry(channel: 1, ChangeEntry(origin: origins[which], seq: seqs[which], hlc: HybridTimestamp(rawValue: 5_000 + UInt64(index)),
                                                           entity: "item", key: "k-\(text)-\(index)", op: body.isEmpty ? .delete : .put, body: body))
            }
        }
        return (store, origins, dir)
    }

    static func bytes(_ entries: [ChangeEntry]) -> [[UInt8]] { entries.map(\.wireJSON) }

    @Test func aPageByPositionReadsWhatGRDBReads() throws {
        let (store, _, dir) = try storeWithTwoOrigins(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let (viaGRDB, pages) = try store.read { tx in
            (try tx.entries(channel: 1), [try tx.entries(channel: 1, afterPosition: 0, limit: 25), try tx.entries(channel: 1, afterPosition: 25, limit: 25)])
        }
        let direct = pages.flatMap { $0 }
        #expect(direct.map(\.position) == Array(1...40))
        #expect(Self.bytes(direct.map(\.entry)) == Self.bytes(viaGRDB))
    }

    @Test func anOriginsPageReadsWhatGRDBReads() throws {
        let (store, origins, dir) = try storeWithTwoOrigins(); defer { try? FileManager.default.removeItem(atPath: dir) }
        for origin in origins {
            let (all, page) = try store.read { tx in (try tx.entries(channel: 1), try tx.entries(channel: 1, origin: origin, after: 2, limit: 100)) }
            let expected = all.filter { $0.origin == origin && $0.seq > 2 }
            #expect(!page.isEmpty && Self.bytes(page) == Self.bytes(expected))
        }
    }

    @Test func aQueueReadsWhatGRDBReads() throws {
        let (store, origins, dir) = try storeWithTwoOrigins(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let site = SiteID(url: "https://b.example", publicKey: [UInt8](repeating: 1, count: 32))
        let all = try store.read { try $0.entries(channel: 1) }
        try store.write { tx in
            for entry in all where entry.origin == origins[1] || entry.seq % 2 == 0 {
                try tx.enqueue(channel: 1, origin: entry.origin, seq: entry.seq, for: site)
            }
        }
        let queued = try store.read { try $0.queued(channel: 1, for: site, limit: 100) }
        let expected = all.filter { $0.origin == origins[1] || $0.seq % 2 == 0 }
        #expect(Self.bytes(queued.map(\.entry)) == Self.bytes(expected))
    }

    @Test func textIsComparedAsBytes() throws {
        let answers = try Store.inMemory(random: SystemRandom()).write { tx -> [Bool] in
            try tx.db.execute(sql: "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
            try tx.db.execute(sql: "INSERT INTO t (a, b) VALUES (1, 'abc'), (2, ''), (3, NULL), (4, ?)", arguments: ["e\u{301}"])
            let read = try DirectStatement(tx.db, sql: "SELECT b FROM t WHERE a = ?")
            return try [(1, "abc"), (1, "abd"), (1, "ab"), (1, "abcd"), (2, ""), (2, "a"), (3, ""), (4, "e\u{301}"), (4, "\u{e9}")].map { row, text in
                try read.first({ try $0.bind(1, Int64(row)) }) { $0.text(0, equals: text) } ?? false
            }
        }
        #expect(answers == [true, false, false, false, true, false, false, true, false])
    }
}
