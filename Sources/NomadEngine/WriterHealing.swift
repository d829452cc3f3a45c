import NomadCrypto
import NomadModel
import NomadStore

/// What taking a new writer id did (docs/PROTOCOL.md §3.2).
public struct WriterHealReport: Sendable, Equatable {
    public var oldWriter: OriginID
    public var newWriter: OriginID
    /// The old writer's entries this site keeps: seq 1 through this one.
    public var keptThrough: UInt64
    /// The old writer's entries that were taken out of the log and written again under the new writer.
    public var reissued: Int
}

/// Why a site heals its writer.
public enum WriterHealCause: Sendable, Equatable, CustomStringConvertible {
    /// Another clone reported more entries of this site's writer than this site holds.
    case reportedAhead(seq: UInt64, held: UInt64)
    /// A clone refused a packet as a fork of this site's writer.
    case forkAnswered(seq: UInt64)
    /// Entries of this site's own writer arrived that it does not hold.
    case ownEntriesHeld
    /// The admin asked (`nomadsync channel heal`).
    case requested

    public var description: String {
        switch self {
        case .reportedAhead(let seq, let held): return "another clone holds this site's writer up to seq \(seq), this site only \(held)"
        case .forkAnswered(let seq): return "a clone refused seq \(seq) of this site's writer as a fork"
        case .ownEntriesHeld: return "entries of this site's own writer arrived that it does not hold"
        case .requested: return "requested by the admin"
        }
    }
}

extension Site {
    /// Heals a reused writer: a site restored from an old backup writes with sequence numbers
    /// it had already used, and every other clone refuses those entries as forks.
    ///
    /// In one transaction:
    /// 1. this site's entries of its current writer that no clone has acknowledged yet (the
    ///    lowest seq still in the outbox, and every later one) leave the log; state rows they
    ///    won fall back to the best remaining entry, and the digest follows;
    /// 2. the site takes a fresh writer id and publishes it in a new `location` entry;
    /// 3. the removed changes are written again under the new writer and queued for every clone.
    ///
    /// The old writer's entries that other clones hold then arrive by the ordinary catch-up, so
    /// nothing written on any side is lost. Entries that no clone refused are at worst written
    /// twice with the same content, which converges like any other write.
    @discardableResult
    public func healWriter(nickname: String, cause: WriterHealCause) throws -> WriterHealReport {
        let site = try identity()
        return try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            let report = try rotateWriter(channel: channel, site: site, in: tx).report
            if cause == .requested { try tx.setDiverged(channel: channel.rowID, reason: nil) }
            return report
        }
    }

    /// The recovery for a `diverged` alarm whose cause lies in another site's writer: drops
    /// `origin`'s entries after `seq` from this site's log (state and digest repaired), so the
    /// ordinary catch-up fetches that origin's entries again from the clones that hold them.
    /// Clears the alarm. Returns how many entries were dropped.
    @discardableResult
    public func dropEntries(nickname: String, origin: OriginID, after seq: UInt64) throws -> Int {
        try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            guard origin != channel.writer else {
                throw EngineError.invalidArgument("\(origin.text) is this site's own writer; run heal without --origin to take a new writer instead")
            }
            let held = try tx.vector(channel: channel.rowID)[origin]
            guard seq < held else { return 0 }
            let removed = try tx.removeEntries(channel: channel.rowID, origin: origin, after: seq)
            var digest = StateDigest(bytes: channel.digest)
            try repairState(after: removed, channel: channel, digest: &digest, in: tx)
            try tx.setVector(channel: channel.rowID, origin: origin, seq: seq)
            try tx.setDigest(channel: channel.rowID, digest.bytes)
            try tx.setDiverged(channel: channel.rowID, reason: nil)
            return removed.count
        }
    }

    /// A clone answered `fork` for `origin` at `seq`: when that is this site's current writer,
    /// the site reused sequence numbers and heals now. Returns what healing did, or nil when the
    /// origin is not (or no longer) this site's writer.
    public func forkAnswered(nickname: String, origin: String, seq: UInt64) throws -> WriterHealReport? {
        let site = try identity()
        return try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            guard channel.writer.text == origin else { return nil }
            return try rotateWriter(channel: channel, site: site, in: tx).report
        }
    }

    /// Why this site must not write with its current writer any more, if it must not.
    func staleWriterCause(channel: ChannelRecord, in tx: StoreTransaction) throws -> WriterHealCause? {
        let held = try tx.vector(channel: channel.rowID)[channel.writer]
        let reported = try tx.peers(channel: channel.rowID).compactMap { $0.vector?[channel.writer] }.max() ?? 0
        if reported > held { return .reportedAhead(seq: reported, held: held) }
        if let own = try tx.pendingSeqs(channel: channel.rowID)[channel.writer], !own.isEmpty { return .ownEntriesHeld }
        return nil
    }

    /// Takes a new writer id inside `tx` (see `healWriter`). Returns the updated channel.
    func rotateWriter(channel stale: ChannelRecord, site: SiteIdentity,
                      in tx: StoreTransaction) throws -> (channel: ChannelRecord, report: WriterHealReport) {
        guard var channel = try tx.channel(portableID: stale.portableID) else { throw EngineError.channelNotFound(stale.nickname) }
        let old = channel.writer
        let held = try tx.vector(channel: channel.rowID)[old]
        let unconfirmed = try tx.lowestQueuedSeq(channel: channel.rowID, origin: old)
        let keep = min(held, unconfirmed.map { $0 - 1 } ?? held)
        let removed = try tx.removeEntries(channel: channel.rowID, origin: old, after: keep)
        var digest = StateDigest(bytes: channel.digest)
        try repairState(after: removed, channel: channel, digest: &digest, in: tx)
        try tx.setVector(channel: channel.rowID, origin: old, seq: keep)
        try tx.setDigest(channel: channel.rowID, digest.bytes)

        let fresh = OriginID.generate(using: random)
        try tx.setChannelWriter(channel: channel.rowID, fresh)
        channel.writer = fresh
        channel.digest = digest.bytes
        let own = try Self.locations(channel: channel, in: tx).first { $0.siteID == site.siteID }
        let location = try localLocation(channel: channel, keys: try channelKeys(channel), site: site, primary: own?.primary ?? false,
                                         fallbacks: own?.fallbacks ?? [])
        let again = removed.filter { !($0.entity == "location" && $0.key == site.siteID.text) }
            .map { Change(entity: $0.entity, key: $0.key, op: $0.op, body: $0.body) }
        let changes = [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))] + again
        let appended = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
        try queueForPeers(appended, channel: channel, siteID: site.siteID, in: tx)
        let updated = try tx.channel(portableID: channel.portableID) ?? channel
        return (updated, WriterHealReport(oldWriter: old, newWriter: fresh, keptThrough: keep, reissued: again.count))
    }

    /// After entries left the log: every state row one of them won falls back to the best entry
    /// that remains for its document (or disappears), and the digest follows.
    func repairState(after removed: [ChangeEntry], channel: ChannelRecord, digest: inout StateDigest,
                     in tx: StoreTransaction) throws {
        let gone = Set(removed.map { Array($0.id.utf8) })
        var done = Set<[UInt8]>()
        for entry in removed {
            let document = Array(entry.entity.utf8) + [0] + Array(entry.key.utf8)
            guard done.insert(document).inserted,
                  let row = try tx.stateRow(channel: channel.rowID, entity: entry.entity, key: entry.key),
                  gone.contains(Array(row.entryID.utf8)) else { continue }
            digest.subtract(StateDigest.term(channel: channel.portableID, entity: row.entity, key: row.key, entryID: row.entryID))
            let remaining = try tx.entries(channel: channel.rowID, entity: entry.entity, key: entry.key)
            if let best = remaining.max(by: { ChannelLedger.beats($1, $0) }) {
                digest.add(StateDigest.term(channel: channel.portableID, entity: best.entity, key: best.key, entryID: best.id))
                try tx.putState(channel: channel.rowID, from: best)
            } else {
                try tx.deleteState(channel: channel.rowID, entity: entry.entity, key: entry.key)
            }
        }
    }
}
