import CWriteback
import Foundation
import NomadCrypto
import Testing
@testable import NomadStore
import GRDB

@Suite struct WALCheckpointTests {
    /// What `inspect` reads of a new store (its directory and checkpointer) after 3,000 commits
    /// of a 6,000-byte row each: about 10,000 pages. The store's directory is removed after.
    func afterTenThousandPages<T>(_ inspect: (String, WALCheckpointer) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "nomadsync-wal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store.open(directory: dir, create: true, random: SystemRandom())
        try store.write { tx in try tx.db.execute(sql: "CREATE TABLE pad (x BLOB)") }
        let row = Data(repeating: 7, count: 6_000)
        for _ in 0..<3_000 {
            try store.write { tx in try tx.db.execute(sql: "INSERT INTO pad (x) VALUES (?)", arguments: [row]) }
        }
        return try inspect(dir, try #require(store.checkpointer))
    }

    /// Over 10,000 pages committed in 3,000 transactions: SQLite's own checkpoint is replaced by the
    /// store's, which runs beside the writer; the log must still be copied back and reused, not
    /// grow with every commit.
    @Test func theLogStaysBoundedWhileCheckpointsRunBesideTheWriter() throws {
        let (walBytes, runs) = try afterTenThousandPages { dir, checkpointer in
            (try FileManager.default.attributesOfItem(atPath: dir + "/\(Store.databaseName)-wal")[.size] as? NSNumber,
             checkpointer.backgroundCheckpoints.load(ordering: .relaxed))
        }
        // Without any checkpoint the log would hold every page written (over 40 MB); with them
        // it starts over when it reaches `inlinePages`: the writer waits there for a background
        // checkpoint still running instead of writing on past it (a slow disk took it to 5,500).
        #expect(try #require(walBytes).intValue < Int(WALCheckpointer.inlinePages + 100) * 4_120)
        #expect(runs >= 1)
    }

    /// A background checkpoint is queued once per `pages` pages written, not after every commit
    /// past `pages`: back to back, they took a third of a catch-up's time on a core of their own.
    @Test func aSteadyWriterQueuesOneBackgroundCheckpointPerThousandPages() throws {
        let runs = try afterTenThousandPages { $1.backgroundCheckpoints.load(ordering: .relaxed) }
        #expect((1...14).contains(runs), "\(runs) background checkpoints for about 10,000 pages")
    }

    /// The log is written back to disk as it grows, about once per `writebackPages` pages, so a
    /// checkpoint's sync of it finds little left to write (and holds nothing up for long).
    @Test func theLogIsWrittenBackAsItGrows() throws {
        let writebacks = try afterTenThousandPages { $1.writebacks.load(ordering: .relaxed) }
        // 10,000 pages / 256 is 39, plus one each time the log started over. A write-back asked
        // for while the previous one has not started yet is not queued twice, so a busy machine
        // sees fewer; never one per commit (3,000).
        #expect((2...50).contains(writebacks), "\(writebacks) write-backs for about 10,000 pages")
    }

    /// The shim starts the write-back of a real file and reports a bad descriptor as an error.
    @Test func startingAWritebackSucceedsOnAFileAndFailsOnABadDescriptor() throws {
        let path = NSTemporaryDirectory() + "nomadsync-writeback-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 1, count: 100_000).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(nomadsync_start_writeback(descriptor) == 0)
        #expect(nomadsync_start_writeback(-1) == -1)
    }
}
