import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadStore

/// Local append and replay against the raw limit: three real sites (SQLite files in a temporary
/// folder) clone one channel; A appends N changes through the engine, B replays them; the raw
/// reference runs the same statements (`LedgerSQL`) for the same rows through SQLite's C API on
/// copies of A's and B's databases taken just before.
struct LedgerBench {
    let entries: Int
    let folder: String
    let appendBatch = 100
    let replayPage = 500

    struct Sites {
        let a: Site
        let b: Site
        let peersOfA: [String]
        let channelRowA: Int64
        let channelRowB: Int64
    }

    func setUp() throws -> Sites {
        let passphrase = SecureBytes(Array("bench passphrase".utf8))
        let sites = try ["a", "b", "c"].enumerated().map { index, name -> Site in
            let site = try Site.open(directory: "\(folder)/\(name)", create: true)
            _ = try site.initialise(url: "https://\(name).bench.invalid")
            return site
        }
        let (a, b, c) = (sites[0], sites[1], sites[2])
        _ = try a.createChannel(nickname: "alice")
        let file = try a.exportChannel(nickname: "alice", passphrase: passphrase, strength: .interactive)
        _ = try b.importChannel(file, passphrase: passphrase)
        _ = try c.importChannel(file, passphrase: passphrase)
        // Every site learns the three locations, as it would from the first packets.
        _ = try a.replay(nickname: "alice", try b.log(nickname: "alice"))
        _ = try a.replay(nickname: "alice", try c.log(nickname: "alice"))
        _ = try b.replay(nickname: "alice", try c.log(nickname: "alice"))
        let peers = try [b, c].map { try $0.identity().siteID.text }
        return Sites(a: a, b: b, peersOfA: peers, channelRowA: try rowID(folder: "a"), channelRowB: try rowID(folder: "b"))
    }

    func rowID(folder name: String) throws -> Int64 {
        let raw = try RawSQLite(path: "\(folder)/\(name)/nomadsync.sqlite")
        return try raw.int64("SELECT id FROM channel WHERE nickname = 'alice'")
    }

    /// A copy of a site's database as it is now (`VACUUM INTO`), for the raw reference.
    func snapshot(_ name: String) throws -> String {
        let copy = "\(folder)/\(name)-raw.sqlite"
        try RawSQLite(path: "\(folder)/\(name)/nomadsync.sqlite").execute("VACUUM INTO '\(copy)'")
        return copy
    }

    /// The changes appended: 3 in 4 to new documents, 1 in 4 updating one, bodies of ~200 bytes.
    func changes() -> [Change] {
        let distinct = max(1, entries * 3 / 4)
        let filler = String(repeating: "x", count: 160)
        return (0..<entries).map { i in
            Change(entity: "item", key: "note-\(i % distinct)", op: .put, body: #"{"content":"\#(filler)","n":\#(i)}"#)
        }
    }

    func run() throws -> [BenchRow] {
        let sites = try setUp()
        let rawA = try snapshot("a"), rawB = try snapshot("b")
        let work = changes()

        // Append: nomadsync (validate, clock, ids, log, vector, state, digest, outbox) …
        var appended: [ChangeEntry] = []
        appended.reserveCapacity(entries)
        let oursAppend = try seconds {
            for start in stride(from: 0, to: work.count, by: appendBatch) {
                appended += try sites.a.append(nickname: "alice", Array(work[start..<min(start + appendBatch, work.count)]))
            }
        }
        // … and the same statements, same rows, through the C API.
        let rawAppend = try seconds { try rawApply(appended, path: rawA, channel: sites.channelRowA, local: true, batch: appendBatch,
                                                   peers: sites.peersOfA) }

        // Replay: the entries as they come off the wire (JSON), each page shuffled.
        let lines = try appended.map { try WireJSON.encode($0) }
        var generator = SeededGenerator(seed: 42)
        let pages = stride(from: 0, to: lines.count, by: replayPage).map { Array(lines[$0..<min($0 + replayPage, lines.count)]).shuffled(using: &generator) }
        var applied = 0
        let oursReplay = try seconds {
            for page in pages {
                let decoded = try page.map { try ChangeEntry.decodeWire($0, what: "entry") }
                applied += try sites.b.replay(nickname: "alice", decoded).applied
            }
        }
        guard applied == entries else { throw BenchError("B applied \(applied) of \(entries) entries") }
        guard try sites.a.syncStatus(nickname: "alice").digest == (try sites.b.syncStatus(nickname: "alice").digest) else {
            throw BenchError("A and B ended with different digests")
        }
        let rawReplay = try seconds { try rawApply(appended, path: rawB, channel: sites.channelRowB, local: false, batch: replayPage, peers: []) }
        try checkSameRows(engine: "\(folder)/b/nomadsync.sqlite", raw: rawB, channel: sites.channelRowB)
        try checkSameRows(engine: "\(folder)/a/nomadsync.sqlite", raw: rawA, channel: sites.channelRowA)

        let n = Double(entries)
        return [
            BenchRow(name: "local append (batches of \(appendBatch), 2 other locations)", unit: "entries/s", count: entries,
                     ours: n / oursAppend, raw: n / rawAppend, reference: "same SQL via sqlite3 C API"),
            BenchRow(name: "replay (decode + verify + apply, pages of \(replayPage) shuffled)", unit: "entries/s", count: entries,
                     ours: n / oursReplay, raw: n / rawReplay, reference: "same SQL via sqlite3 C API"),
        ]
    }

    /// The reference must have done the same work: the same log, state and outbox rows.
    func checkSameRows(engine: String, raw: String, channel: Int64) throws {
        let a = try RawSQLite(path: engine), b = try RawSQLite(path: raw)
        for table in ["entry", "state", "outbox_run"] {
            let sql = "SELECT count(*) FROM \(table) WHERE channel = \(channel)"
            let (ours, reference) = (try a.int64(sql), try b.int64(sql))
            guard ours == reference else { throw BenchError("the raw reference left \(reference) \(table) rows, nomadsync \(ours)") }
        }
        let queued = "SELECT COALESCE(SUM(last - first + 1), 0) FROM outbox_run WHERE channel = \(channel)"
        guard try a.int64(queued) == b.int64(queued) else { throw BenchError("the raw reference queued other entries than nomadsync") }
        let winners = "SELECT group_concat(entry_id, ',') FROM (SELECT entry_id FROM state WHERE channel = \(channel) ORDER BY entity, key)"
        guard try a.text(winners) == b.text(winners) else { throw BenchError("the raw reference's state rows differ from nomadsync's") }
    }

    /// The statements the store runs for `entries`, one transaction per `batch`, with values
    /// computed beforehand (no JSON, no hashing): the floor SQLite sets.
    func rawApply(_ entries: [ChangeEntry], path: String, channel: Int64, local: Bool, batch: Int, peers: [String]) throws {
        let raw = try RawSQLite(path: path)
        let digest = [UInt8](repeating: 7, count: 32)
        for start in stride(from: 0, to: entries.count, by: batch) {
            try raw.execute("BEGIN IMMEDIATE")
            var vector: [String: Int64] = [:]
            for e in entries[start..<min(start + batch, entries.count)] {
                let seq = Int64(clamping: e.seq), hlc = Int64(bitPattern: e.hlc.rawValue)
                try raw.run(LedgerSQL.insertEntry, [channel, e.id, e.origin.text, seq, hlc, e.entity, e.key, e.op.rawValue, e.body, local ? 1 : 0])
                vector[e.origin.text] = max(vector[e.origin.text] ?? 0, seq)
                try raw.run(LedgerSQL.selectState, [channel, e.entity, e.key])
                try raw.run(LedgerSQL.putState, [channel, e.entity, e.key, e.id, e.origin.text, hlc, e.op.rawValue, e.body])
            }
            if !peers.isEmpty { try rawEnqueue(entries[start..<min(start + batch, entries.count)], raw: raw, channel: channel, peers: peers) }
            for (origin, seq) in vector.sorted(by: { $0.key < $1.key }) { try raw.run(LedgerSQL.setVector, [channel, origin, seq]) }
            try raw.run(LedgerSQL.setDigest, [digest, channel])
            try raw.execute("COMMIT")
        }
    }
}

extension LedgerBench {
    /// What the store does to queue a local append for other locations: the batch's positions in
    /// one range read, then per location its last run read and extended (or one added).
    func rawEnqueue(_ batch: ArraySlice<ChangeEntry>, raw: RawSQLite, channel: Int64, peers: [String]) throws {
        guard let first = batch.first, let last = batch.last, batch.allSatisfy({ $0.origin == first.origin }),
              last.seq >= first.seq, last.seq - first.seq == UInt64(batch.count - 1) else {
            throw BenchError("the raw reference queues a batch of consecutive seqs of one origin")
        }
        let positions = try raw.int64Rows(LedgerSQL.entryPositions, [channel, first.origin.text, Int64(clamping: first.seq),
                                                                     Int64(clamping: last.seq)]).map { $0[0] }
        guard let low = positions.first, let high = positions.last,
              high.subtractingReportingOverflow(low) == (Int64(positions.count - 1), false) else {
            throw BenchError("the raw reference's appended entries are not at consecutive positions")
        }
        for peer in peers {
            let lastRun = try raw.int64Rows(LedgerSQL.lastOutboxRun, [channel, peer]).first
            guard lastRun.map({ $0[0] < low }) ?? true else {
                throw BenchError("the raw reference found queued runs after the appended entries")
            }
            if let lastRun, lastRun[1] >= low.subtractingReportingOverflow(1).partialValue {
                try raw.run(LedgerSQL.extendOutboxRun, [max(lastRun[1], high), channel, peer, lastRun[0]])
            } else {
                try raw.run(LedgerSQL.insertOutboxRun, [channel, peer, low, high])
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Shuffles the same way on every run: NomadCrypto's seeded source as a generator.
struct SeededGenerator: RandomNumberGenerator {
    let source: SeededRandom
    init(seed: UInt64) { source = SeededRandom(seed: seed) }
    mutating func next() -> UInt64 { source.bytes(8).reduce(0) { $0 << 8 | UInt64($1) } }
}
