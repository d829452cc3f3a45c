import Foundation
import GRDB
import NomadModel

/// An entry waiting in the outbox, with its log position (the outbox key).
public struct QueuedEntry: Sendable, Equatable {
    public var position: Int64
    public var entry: ChangeEntry
}

/// A run of log positions queued for one location: `first...last`.
struct OutboxRun: Equatable {
    var first: Int64
    var last: Int64

    init(first: Int64, last: Int64) {
        self.first = first
        self.last = last
    }

    /// From a row of `first, last`.
    init(row: Row) throws {
        first = try row.decode(Int64.self, atIndex: 0)
        last = try row.decode(Int64.self, atIndex: 1)
    }
}

// The outbox as runs of log positions (table `outbox_run`): for each channel and location, the
// set of log positions still to deliver, stored as disjoint runs `first...last` of consecutive
// positions, each position an entry of that channel. A local append of n entries queues one run
// per other location (one row written, or one extended) where a row per entry and location
// was written before; an acknowledged packet shortens or splits a run where its 500 rows were
// deleted (a sixth of the sending site's CPU in a catch-up). Entries leave the log only through
// `removeEntries`, which takes their positions out of every run, so the runs stay exact: the
// queue's depth is the sum of the runs' lengths.
extension StoreTransaction {
    // MARK: Outbox

    /// Queues the applied entry at `(origin, seq)` for `siteID` (nothing when it is not applied).
    public func enqueue(channel: Int64, origin: OriginID, seq: UInt64, for siteID: SiteID) throws {
        guard let position = try Int64.fetchOne(try db.cachedStatement(sql: LedgerSQL.entryPosition),
                                                arguments: [channel, origin.text, Self.sqlSeq(seq)]) else { return }
        try enqueue(channel: channel, positions: [position], for: siteID)
    }

    /// Queues the log positions (entries of this channel) for `siteID`: each run of consecutive
    /// positions joins the runs it touches or overlaps.
    public func enqueue(channel: Int64, positions: [Int64], for siteID: SiteID) throws {
        for run in Self.runs(of: positions) {
            try addRun(OutboxRun(first: run.lowerBound, last: run.upperBound), channel: channel, siteID: siteID.text)
        }
    }

    /// The log positions of `origin`'s applied entries `seqs` (one range read: a local append's
    /// entries are consecutive seqs of one origin).
    public func positions(channel: Int64, origin: OriginID, seqs: ClosedRange<UInt64>) throws -> [Int64] {
        try Int64.fetchAll(try db.cachedStatement(sql: LedgerSQL.entryPositions),
                           arguments: [channel, origin.text, Self.sqlSeq(seqs.lowerBound), Self.sqlSeq(seqs.upperBound)])
    }

    /// The oldest entries queued for `siteID` after outbox position `after` (0: from the start),
    /// at most `limit`, in log order.
    public func queued(channel: Int64, for siteID: SiteID, after: Int64 = 0, limit: Int) throws -> [QueuedEntry] {
        guard limit > 0 else { return [] }
        var runs: [OutboxRun] = []
        if let holding = try runBefore(after.addingReportingOverflow(1).partialValue, channel: channel, siteID: siteID.text),
           holding.last > after {
            runs.append(holding)
        }
        // Every run holds at least one entry, so `limit` runs are enough.
        runs += try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT first, last FROM outbox_run WHERE channel = ? AND site_id = ? AND first > ? ORDER BY first LIMIT ?
            """), arguments: [channel, siteID.text, after, limit]).map { try OutboxRun(row: $0) }
        let read = try DirectStatement(db, sql: """
            SELECT position, \(Self.entryColumns) FROM entry WHERE position BETWEEN ? AND ? AND channel = ? ORDER BY position LIMIT ?
            """)
        var out: [QueuedEntry] = []
        for run in runs where out.count < limit {
            out += try read.all({ s in
                try s.bind(1, max(run.first, after.addingReportingOverflow(1).partialValue)); try s.bind(2, run.last)
                try s.bind(3, channel); try s.bind(4, Int64(limit - out.count))
            }, { QueuedEntry(position: try $0.int64(0), entry: try entry(from: $0, at: 1)) })
        }
        return out
    }

    /// Removes acknowledged entries from the outbox: each run of consecutive positions shortens,
    /// splits or deletes the runs it covers. Positions not queued are ignored.
    public func dequeue(channel: Int64, for siteID: SiteID, positions: [Int64]) throws {
        for run in Self.runs(of: positions) {
            try removeRun(OutboxRun(first: run.lowerBound, last: run.upperBound), channel: channel, siteID: siteID.text)
        }
    }

    /// `positions` as runs of consecutive values, in ascending order; repeats count once.
    /// `[7, 2, 3, 1, 3]` → `[1...3, 7...7]`.
    static func runs(of positions: [Int64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for position in positions.sorted() {
            if let last = runs.last {
                if position <= last.upperBound { continue }
                let (next, overflow) = last.upperBound.addingReportingOverflow(1)
                if !overflow && position == next {
                    runs[runs.count - 1] = last.lowerBound...position
                    continue
                }
            }
            runs.append(position...position)
        }
        return runs
    }

    /// Forgets everything queued for `siteID` (its location retired).
    public func clearOutbox(channel: Int64, for siteID: SiteID) throws {
        try db.cachedStatement(sql: "DELETE FROM outbox_run WHERE channel = ? AND site_id = ?").execute(arguments: [channel, siteID.text])
    }

    /// Whether anything is queued for `siteID` (one index probe).
    public func hasQueued(channel: Int64, for siteID: SiteID) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM outbox_run WHERE channel = ? AND site_id = ?)"),
                          arguments: [channel, siteID.text]) ?? false
    }

    /// Entries queued for each location of the channel (the runs' lengths: no entry is read).
    public func outboxDepths(channel: Int64) throws -> [SiteID: Int] {
        var out: [SiteID: Int] = [:]
        for row in try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT site_id, SUM(last - first + 1) AS n FROM outbox_run WHERE channel = ? GROUP BY site_id
            """), arguments: [channel]) {
            out[try SiteID(validating: try row.decode(String.self, atIndex: 0))] = Int(clamping: try row.decode(Int64.self, atIndex: 1))
        }
        return out
    }

    /// Takes log positions out of every location's runs (their entries leave the log).
    func unqueue(channel: Int64, positions: [Int64]) throws {
        guard !positions.isEmpty else { return }
        let sites = try String.fetchAll(try db.cachedStatement(sql: "SELECT DISTINCT site_id FROM outbox_run WHERE channel = ?"),
                                        arguments: [channel])
        for site in sites {
            for run in Self.runs(of: positions) {
                try removeRun(OutboxRun(first: run.lowerBound, last: run.upperBound), channel: channel, siteID: site)
            }
        }
    }

    // MARK: Runs

    /// The run with the greatest `first` below `position`.
    func runBefore(_ position: Int64, channel: Int64, siteID: String) throws -> OutboxRun? {
        try Row.fetchOne(try db.cachedStatement(sql: LedgerSQL.outboxRunBefore), arguments: [channel, siteID, position])
            .map { try OutboxRun(row: $0) }
    }

    /// The runs whose `first` is in `range`.
    func runs(startingIn range: ClosedRange<Int64>, channel: Int64, siteID: String) throws -> [OutboxRun] {
        try Row.fetchAll(try db.cachedStatement(sql: LedgerSQL.outboxRunsStartingIn),
                         arguments: [channel, siteID, range.lowerBound, range.upperBound]).map { try OutboxRun(row: $0) }
    }

    func insertRun(_ run: OutboxRun, channel: Int64, siteID: String) throws {
        try db.cachedStatement(sql: LedgerSQL.insertOutboxRun).execute(arguments: [channel, siteID, run.first, run.last])
    }

    func setRunLast(_ last: Int64, first: Int64, channel: Int64, siteID: String) throws {
        try db.cachedStatement(sql: LedgerSQL.extendOutboxRun).execute(arguments: [last, channel, siteID, first])
    }

    func deleteRuns(startingIn range: ClosedRange<Int64>, channel: Int64, siteID: String) throws {
        try db.cachedStatement(sql: "DELETE FROM outbox_run WHERE channel = ? AND site_id = ? AND first BETWEEN ? AND ?")
            .execute(arguments: [channel, siteID, range.lowerBound, range.upperBound])
    }

    /// Adds `run`, merged with the runs it overlaps or touches. The usual case, a local append
    /// after the last queued position, reads one row and updates it (or adds one).
    func addRun(_ run: OutboxRun, channel: Int64, siteID: String) throws {
        // The usual case, entries just appended: no run starts at or after them, so the last run
        // is the only one they can touch.
        let lastRun = try Row.fetchOne(try db.cachedStatement(sql: LedgerSQL.lastOutboxRun), arguments: [channel, siteID])
            .map { try OutboxRun(row: $0) }
        guard let lastRun, lastRun.first >= run.first else {
            if let lastRun, lastRun.last >= run.first.subtractingReportingOverflow(1).partialValue {
                if run.last > lastRun.last { try setRunLast(run.last, first: lastRun.first, channel: channel, siteID: siteID) }
            } else {
                try insertRun(run, channel: channel, siteID: siteID)
            }
            return
        }
        let touching = run.last.addingReportingOverflow(1).overflow ? run.last : run.last + 1
        var merged = run
        var extending: OutboxRun?
        if let before = try runBefore(run.first, channel: channel, siteID: siteID),
           before.last >= run.first.subtractingReportingOverflow(1).partialValue {
            extending = before
            merged = OutboxRun(first: before.first, last: max(before.last, run.last))
        }
        let following = try runs(startingIn: run.first...touching, channel: channel, siteID: siteID)
        if let end = following.map(\.last).max() { merged.last = max(merged.last, end) }
        if !following.isEmpty { try deleteRuns(startingIn: run.first...touching, channel: channel, siteID: siteID) }
        if let extending {
            if merged.last != extending.last { try setRunLast(merged.last, first: extending.first, channel: channel, siteID: siteID) }
        } else {
            try insertRun(merged, channel: channel, siteID: siteID)
        }
    }

    /// Takes `run`'s positions out: the run holding its start is cut short (and split when it
    /// goes on past `run`), the runs starting inside it are deleted (the last one's tail past
    /// `run` kept).
    func removeRun(_ run: OutboxRun, channel: Int64, siteID: String) throws {
        let after = run.last.addingReportingOverflow(1).overflow ? nil : run.last + 1
        // The usual acknowledgements in one statement each: a whole run (a single change sent
        // at once), or the start of one (a packet of a longer queue).
        try db.cachedStatement(sql: "DELETE FROM outbox_run WHERE channel = ? AND site_id = ? AND first = ? AND last = ?")
            .execute(arguments: [channel, siteID, run.first, run.last])
        if db.changesCount == 1 { return }
        if let after {
            try db.cachedStatement(sql: "UPDATE outbox_run SET first = ? WHERE channel = ? AND site_id = ? AND first = ? AND last >= ?")
                .execute(arguments: [after, channel, siteID, run.first, after])
            if db.changesCount == 1 { return }
        }
        if let before = try runBefore(run.first, channel: channel, siteID: siteID), before.last >= run.first {
            // `before.first < run.first`, so `run.first - 1` neither overflows nor ends before it.
            try setRunLast(run.first - 1, first: before.first, channel: channel, siteID: siteID)
            if let after, before.last >= after {
                try insertRun(OutboxRun(first: after, last: before.last), channel: channel, siteID: siteID)
                return  // it covered all of `run`: runs are disjoint, so none starts inside
            }
        }
        let inside = try runs(startingIn: run.first...run.last, channel: channel, siteID: siteID)
        guard !inside.isEmpty else { return }
        try deleteRuns(startingIn: run.first...run.last, channel: channel, siteID: siteID)
        if let after, let end = inside.map(\.last).max(), end >= after {
            try insertRun(OutboxRun(first: after, last: end), channel: channel, siteID: siteID)
        }
    }
}
