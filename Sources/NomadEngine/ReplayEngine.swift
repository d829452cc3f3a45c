import NomadModel
import NomadStore

/// What applying one batch did.
public struct ReplayReport: Sendable, Equatable, Codable {
    /// Entries that took their place in the log (including held ones this batch released).
    public var applied: Int = 0
    /// Entries already held: skipped.
    public var duplicate: Int = 0
    /// Entries of this batch waiting for a gap before them to fill.
    public var held: Int = 0
    /// What is known to exist but is not held: ask another clone for these.
    public var missing: [MissingRange] = []
    /// The digest after the batch.
    public var digest: String = ""
    /// The entries that were applied, in the order they were applied.
    public var appliedEntries: [ChangeEntry] = []

    public init() {}

    enum CodingKeys: String, CodingKey { case applied, duplicate, held, missing, digest }

    /// `12 applied, 3 duplicate, 2 held` — the status line of a delivery report.
    public var summary: String { "\(applied) applied, \(duplicate) duplicate, \(held) held" }
}

/// Applies entries from other clones (DESIGN §3): idempotent, in any order, convergent.
///
/// One call is one batch and runs inside the caller's transaction, so a batch is all or
/// nothing: every entry is validated (content id, fields, clock skew, forks) before anything
/// is written, and an error thrown part-way rolls the transaction back.
///
/// ```swift
/// let report = try store.write { tx in
///     try ReplayEngine(limits: .standard).apply(entries, to: channel, in: tx, now: clock.nowMilliseconds())
/// }
/// ```
public struct ReplayEngine: Sendable {
    public var limits: WireLimits
    /// How far ahead of our clock an entry may be stamped (one hour).
    public var maxClockSkewMilliseconds: UInt64 = 3_600_000

    public init(limits: WireLimits = .standard) { self.limits = limits }

    public func apply(_ entries: [ChangeEntry], to channel: ChannelRecord, in tx: StoreTransaction,
                      now: UInt64) throws -> ReplayReport {
        guard entries.count <= limits.maxEntriesPerPacket else {
            throw EngineError.tooManyEntries(count: entries.count, limit: limits.maxEntriesPerPacket)
        }
        try validate(entries, now: now)

        var ledger = try ChannelLedger(tx: tx, channel: channel)
        var report = ReplayReport()
        var heldNow = Set<String>()
        var seen = Set<String>()
        var clock = HybridClock(last: try tx.clock())
        let ordered = entries.sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
        for entry in ordered {
            guard seen.insert(entry.id).inserted, !(try tx.holds(channel: channel.rowID, entryID: entry.id)) else {
                report.duplicate += 1
                continue
            }
            if let held = try tx.entryID(channel: channel.rowID, origin: entry.origin, seq: entry.seq)
                ?? tx.pendingID(channel: channel.rowID, origin: entry.origin, seq: entry.seq) {
                throw EngineError.fork(origin: entry.origin.text, seq: entry.seq, held: held, offered: entry.id)
            }
            clock.observe(entry.hlc)
            let next = ledger.vector[entry.origin] + 1
            if entry.seq < next {
                // Every seq up to the vector is in the log, so this place is taken by another id.
                throw EngineError.fork(origin: entry.origin.text, seq: entry.seq, held: "(applied)", offered: entry.id)
            } else if entry.seq > next {
                try tx.insertPending(channel: channel.rowID, entry)
                heldNow.insert(entry.id)
                continue
            }
            try ledger.apply(entry)
            report.appliedEntries.append(entry)
            // Release whatever was waiting behind this entry.
            while let waiting = try tx.takePending(channel: channel.rowID, origin: entry.origin, seq: ledger.vector[entry.origin] + 1) {
                try ledger.apply(waiting)
                heldNow.remove(waiting.id)
                report.appliedEntries.append(waiting)
            }
        }
        try ledger.finish()
        try tx.setClock(clock.last)
        report.applied = report.appliedEntries.count
        report.held = heldNow.count
        report.missing = try Self.missing(channel: channel, vector: ledger.vector, in: tx)
        report.digest = ledger.digest.hex
        return report
    }

    /// Checks every entry before anything is written: fields, content id, clock skew, and two
    /// entries of the batch claiming one `(origin, seq)`.
    func validate(_ entries: [ChangeEntry], now: UInt64) throws {
        var places: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            guard entry.seq <= UInt64(Int64.max) else {
                throw EngineError.invalidEntry(index: index, id: entry.id, reason: "seq out of range")
            }
            do {
                try entry.validate(limits: limits)
            } catch let error as ModelError {
                throw EngineError.invalidEntry(index: index, id: entry.id, reason: error.description)
            }
            if entry.hlc.milliseconds > now + maxClockSkewMilliseconds {
                throw EngineError.clockSkew(id: entry.id, origin: entry.origin.text, aheadMilliseconds: entry.hlc.milliseconds - now)
            }
            let place = "\(entry.origin.text):\(entry.seq)"
            if let other = places[place], other != entry.id {
                throw EngineError.fork(origin: entry.origin.text, seq: entry.seq, held: other, offered: entry.id)
            }
            places[place] = entry.id
        }
    }

    /// The gaps before and between held entries, per origin.
    public static func missing(channel: ChannelRecord, vector: VersionVector, in tx: StoreTransaction) throws -> [MissingRange] {
        var ranges: [MissingRange] = []
        for (origin, seqs) in try tx.pendingSeqs(channel: channel.rowID).sorted(by: { $0.key < $1.key }) {
            var expected = vector[origin] + 1
            for seq in seqs {
                if seq > expected { ranges.append(MissingRange(origin: origin, from: expected, through: seq - 1)) }
                expected = seq + 1
            }
        }
        return ranges
    }
}
