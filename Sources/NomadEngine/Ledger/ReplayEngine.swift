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
    /// At most this many entries wait for a gap per channel, and per origin: a peer cannot fill
    /// the store with entries that may never be applied.
    public var maxHeldPerChannel = 100_000
    public var maxHeldPerOrigin = 50_000

    public init(limits: WireLimits = .standard) { self.limits = limits }

    /// `vouching`: `key` entries a sender carried that are not replayed (they do not fit this
    /// log) but still vouch for the keys `location` entries are signed with.
    package func apply(_ entries: [ChangeEntry], to channel: ChannelRecord, in tx: StoreTransaction,
                      now: UInt64, vouching: [ChangeEntry] = []) throws -> ReplayReport {
        try apply(entries, to: channel, in: tx, now: now, vouching: vouching, alreadyChecked: 0)
    }

    /// `alreadyChecked`: how many leading entries passed `check` against these limits.
    func apply(_ entries: [ChangeEntry], to channel: ChannelRecord, in tx: StoreTransaction,
               now: UInt64, vouching: [ChangeEntry], alreadyChecked: Int) throws -> ReplayReport {
        guard entries.count <= limits.maxEntriesPerPacket else {
            throw EngineError.tooManyEntries(count: entries.count, limit: limits.maxEntriesPerPacket)
        }
        try validate(entries, now: now, alreadyChecked: alreadyChecked)
        try checkOrigins(entries, channel: channel, in: tx, vouching: vouching)
        let known = try knownWriters(entries, channel: channel, in: tx)

        var ledger = try LedgerWriter(tx: tx, channel: channel)
        var heldTotal = try tx.pendingCount(channel: channel.rowID)
        var heldByOrigin = try tx.pendingCounts(channel: channel.rowID)
        var report = ReplayReport()
        var heldNow = Set<String>()
        var seen = Set<String>()
        var clock = HybridClock(last: try tx.clock())
        let anyVoided = try tx.hasVoided(channel: channel.rowID)
        let ordered = entries.sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
        for entry in ordered {
            // The log holds exactly seqs 1…vector of each origin (entries apply in order, and
            // repairs cut a writer's tail and its vector together), and an entry's id fixes its
            // origin and seq. So an entry past the vector, of an origin with nothing held, can be
            // neither in the log nor held: the store is asked only when it could be.
            let inLog = entry.seq <= ledger.vector[entry.origin]
            let anyHeld = heldByOrigin[entry.origin, default: 0] > 0
            let duplicate = try !seen.insert(entry.id).inserted
                || ((inLog || anyHeld) && tx.holds(channel: channel.rowID, entry))
                || (anyVoided && tx.isVoided(channel: channel.rowID, entryID: entry.id))
            guard !duplicate else {
                report.duplicate += 1
                continue
            }
            if let held = try (inLog ? tx.entryID(channel: channel.rowID, origin: entry.origin, seq: entry.seq) : nil)
                ?? (anyHeld ? tx.pendingID(channel: channel.rowID, origin: entry.origin, seq: entry.seq) : nil) {
                throw EngineError.fork(origin: entry.origin.text, seq: entry.seq, held: held, offered: entry.id)
            }
            clock.observe(entry.hlc)
            let next = ledger.vector[entry.origin] + 1
            if entry.seq < next {
                // Every seq up to the vector is in the log, so this place is taken by another id.
                throw EngineError.fork(origin: entry.origin.text, seq: entry.seq, held: "(applied)", offered: entry.id)
            } else if entry.seq > next {
                let forOrigin = heldByOrigin[entry.origin, default: 0]
                guard heldTotal < maxHeldPerChannel, forOrigin < maxHeldPerOrigin else {
                    throw EngineError.tooManyHeld(origin: entry.origin.text, limit: heldTotal >= maxHeldPerChannel ? maxHeldPerChannel : maxHeldPerOrigin,
                                                  missingFrom: next)
                }
                heldTotal += 1
                heldByOrigin[entry.origin] = forOrigin + 1
                try tx.insertPending(channel: channel.rowID, entry, heldAt: now)
                try LedgerWriter.registerWriter(of: entry, channel: channel.rowID, in: tx)
                heldNow.insert(entry.id)
                continue
            }
            guard known.contains(entry.origin) else {
                throw EngineError.invalidEntry(index: entries.firstIndex(of: entry) ?? 0, id: entry.id,
                                               reason: "origin \(entry.origin.text) is not the writer of any location of this channel")
            }
            try ledger.apply(entry)
            report.appliedEntries.append(entry)
            // Release whatever was waiting behind this entry.
            while heldByOrigin[entry.origin, default: 0] > 0,
                  let waiting = try tx.takePending(channel: channel.rowID, origin: entry.origin, seq: ledger.vector[entry.origin] + 1) {
                try ledger.apply(waiting)
                heldNow.remove(waiting.id)
                heldByOrigin[entry.origin, default: 1] -= 1
                heldTotal -= 1
                report.appliedEntries.append(waiting)
            }
        }
        try ledger.finish()
        try tx.setClock(clock.last)
        // A location that retired gets nothing more from this site.
        for entry in report.appliedEntries where LedgerWriter.retiredSite(named: entry) {
            if let site = try? SiteID(validating: entry.key) { try tx.clearOutbox(channel: channel.rowID, for: site) }
        }
        // A healed site's new location names the entries it took back: drop them here too.
        let voided = report.appliedEntries.compactMap(LedgerWriter.voidedNamed(by:)).flatMap { $0 }
        if !voided.isEmpty {
            try LedgerRepair.applyVoids(voided, channel: channel, in: tx)
            report.appliedEntries.removeAll { entry in voided.contains(entry.id) }
        }
        report.applied = report.appliedEntries.count
        report.held = heldNow.count
        let vector = voided.isEmpty ? ledger.vector : try tx.vector(channel: channel.rowID)
        report.missing = try Self.missing(channel: channel, vector: vector, in: tx)
        report.digest = voided.isEmpty ? ledger.digest.hex
            : StateDigest(bytes: try tx.channel(rowID: channel.rowID)?.digest ?? ledger.digest.bytes).hex
        return report
    }

    /// Checks every entry before anything is written: fields, content id, clock skew, and two
    /// entries of the batch claiming one `(origin, seq)`.
    /// The first `alreadyChecked` entries passed `check` before the transaction: their fields
    /// and ids are not checked again.
    func validate(_ entries: [ChangeEntry], now: UInt64, alreadyChecked: Int = 0) throws {
        var places: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            if index >= alreadyChecked { try Self.check(entry, at: index, limits: limits) }
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

    /// Every `key` entry must be a verified rekey of this channel, and every `location` entry
    /// must be signed whole by one of the channel's keys: the current one, a former one, or one a
    /// verified rekey (held or in this batch) connects to them.
    func checkOrigins(_ entries: [ChangeEntry], channel: ChannelRecord, in tx: StoreTransaction, vouching: [ChangeEntry] = []) throws {
        var chain: KeyChain?
        func loadChain() throws -> KeyChain {
            if let chain { return chain }
            var loaded = try KeyChain.load(channel, in: tx)
            loaded.add(verifiedAmong: vouching, guid: channel.guid)
            chain = loaded
            return loaded
        }
        for (index, entry) in entries.enumerated() where entry.entity == "key" {
            do {
                var loaded = try loadChain()
                if let step = try KeyChain.step(of: entry, guid: channel.guid) { loaded.add(step) }
                chain = loaded
            } catch let error as ModelError {
                throw EngineError.invalidEntry(index: index, id: entry.id, reason: error.description)
            } catch {
                throw EngineError.invalidEntry(index: index, id: entry.id, reason: "the rekey does not verify")
            }
        }
        var keys: [[UInt8]]?
        // A location is trusted only whole: signed by a channel key over every field.
        for (index, entry) in entries.enumerated() where entry.entity == "location" && entry.op == .put {
            do {
                let location = try WireJSON.decode(Location.self, from: entry.body, what: "location", maxDepth: limits.maxJSONDepth)
                guard location.siteID.text == entry.key else {
                    throw ModelError.invalidField("location", reason: "its key is not its site_id")
                }
                if (try? location.verify(channelPublicKey: channel.publicKey)) == nil {
                    if keys == nil {
                        keys = try loadChain().trusted(from: [channel.publicKey] + tx.formerKeys(channel: channel.rowID).map(\.publicKey))
                    }
                    try location.verify(anyOf: keys ?? [channel.publicKey])
                }
            } catch let error as ModelError {
                throw EngineError.invalidEntry(index: index, id: entry.id, reason: error.description)
            }
        }
    }

    /// The writers a batch may apply entries of: those already known, and those the batch's own
    /// `location` entries name. An entry of any other origin can only wait (held, bounded) until
    /// a location naming its origin arrives; it is refused when its turn to apply comes first.
    func knownWriters(_ entries: [ChangeEntry], channel: ChannelRecord, in tx: StoreTransaction) throws -> Set<OriginID> {
        var known = try tx.writers(channel: channel.rowID)
        for entry in entries { if let writer = LedgerWriter.writerNamed(by: entry) { known.insert(writer) } }
        return known
    }

    /// The gaps before and between held entries, per origin.
    package static func missing(channel: ChannelRecord, vector: VersionVector, in tx: StoreTransaction) throws -> [MissingRange] {
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
