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
    /// Takes a new writer id now (the admin's `nomadsync channel heal`, or a site that learns it
    /// was restored from a backup): a site never writes again with a writer whose seqs it may
    /// have used before. The old writer's entries that other clones hold arrive by the ordinary
    /// catch-up; should this site hold conflicting ones, the first clone that refuses them as a
    /// fork makes it take them back (`forkAnswered`).
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
            try LedgerRepair.repairState(after: removed, channel: channel, digest: &digest, in: tx)
            try tx.setVector(channel: channel.rowID, origin: origin, seq: seq)
            try tx.setDigest(channel: channel.rowID, digest.bytes)
            try tx.setDiverged(channel: channel.rowID, reason: nil)
            return removed.count
        }
    }

    /// A clone answered `fork` for `origin` at `seq`: when `origin` is (or was) this site's
    /// writer, the site reused that seq — it was restored from a backup and wrote again. It heals
    /// now (docs/PROTOCOL.md §3.2). Returns what healing did, or nil when `origin` was never this
    /// site's writer or the site holds nothing of it from `seq` on.
    public func forkAnswered(nickname: String, origin: String, seq: UInt64) throws -> WriterHealReport? {
        let site = try identity()
        return try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            guard let writer = try? OriginID(validating: origin), seq >= 1 else { return nil }
            let current = channel.writer == writer
            if !current {
                let ours = try Self.ownWriters(channel: channel, siteID: site.siteID, in: tx).contains(writer)
                let held = try tx.vector(channel: channel.rowID)[writer]
                guard ours, held >= seq else { return nil }
            }
            return try heal(channel: channel, site: site, forkOf: (writer, seq), rotate: current, in: tx).report
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

    /// Every writer id this site's own `location` entries have named for the channel.
    static func ownWriters(channel: ChannelRecord, siteID: SiteID, in tx: StoreTransaction) throws -> Set<OriginID> {
        var writers: Set<OriginID> = [channel.writer]
        for entry in try tx.entries(channel: channel.rowID, entity: "location", key: siteID.text) {
            if let writer = LedgerWriter.writerNamed(by: entry) { writers.insert(writer) }
        }
        return writers
    }

    /// Takes a new writer id inside `tx`, taking nothing back (see `healWriter`).
    func rotateWriter(channel: ChannelRecord, site: SiteIdentity,
                      in tx: StoreTransaction) throws -> (channel: ChannelRecord, report: WriterHealReport) {
        try heal(channel: channel, site: site, forkOf: nil, rotate: true, in: tx)
    }

    /// The heal of docs/PROTOCOL.md §3.2, inside `tx`:
    /// - with `forkOf` (a clone refused `writer` at `seq`): this site's entries of that writer from
    ///   `seq` on were written after a restore and conflict with what the clones hold; they leave
    ///   the log (state and digest follow) and are voided;
    /// - with `rotate`, the site takes a fresh writer id;
    /// - the site's `location` is published again (new writer, `voided` ids), and the voided
    ///   changes are written again under the current writer, so nothing is lost.
    func heal(channel stale: ChannelRecord, site: SiteIdentity, forkOf: (writer: OriginID, seq: UInt64)?, rotate: Bool,
              in tx: StoreTransaction) throws -> (channel: ChannelRecord, report: WriterHealReport) {
        guard var channel = try tx.channel(rowID: stale.rowID) else { throw EngineError.channelNotFound(stale.nickname) }
        let old = channel.writer
        var removed: [ChangeEntry] = []
        var keptThrough = try tx.vector(channel: channel.rowID)[forkOf?.writer ?? old]
        if let (writer, seq) = forkOf, seq <= keptThrough {
            keptThrough = seq - 1
            // Only what this site wrote after the restore is taken back (voided, written again);
            // entries of that writer it received from the clones (e.g. a key entry a packet
            // carried) leave its log too, since seqs have no holes, and are fetched again.
            let local = try tx.localEntryIDs(channel: channel.rowID, origin: writer, after: keptThrough)
            let dropped = try tx.removeEntries(channel: channel.rowID, origin: writer, after: keptThrough)
            var digest = StateDigest(bytes: channel.digest)
            try LedgerRepair.repairState(after: dropped, channel: channel, digest: &digest, in: tx)
            try tx.setVector(channel: channel.rowID, origin: writer, seq: keptThrough)
            try tx.setDigest(channel: channel.rowID, digest.bytes)
            removed = dropped.filter { local.contains($0.id) }
            for entry in removed { try tx.addVoided(channel: channel.rowID, entryID: entry.id) }
            channel.digest = digest.bytes
        }
        if rotate {
            let fresh = OriginID.generate(using: random)
            try tx.setChannelWriter(channel: channel.rowID, fresh)
            channel.writer = fresh
        }
        let own = try Self.locations(channel: channel, in: tx).first { $0.siteID == site.siteID }
        // The location names what was taken back, so clones that took those entries drop them.
        let location = try localLocation(channel: channel, keys: try channelKeys(channel), site: site, primary: own?.primary ?? false,
                                         fallbacks: own?.fallbacks ?? [], voided: removed.isEmpty ? nil : removed.map(\.id))
        let again = removed.filter { $0.entity != "location" }.map { Change(entity: $0.entity, key: $0.key, op: $0.op, body: $0.body) }
        let changes = [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))] + again
        let appended = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
        try queueForPeers(appended, channel: channel, siteID: site.siteID, in: tx)
        let updated = try tx.channel(rowID: channel.rowID) ?? channel
        return (updated, WriterHealReport(oldWriter: old, newWriter: channel.writer, keptThrough: keptThrough, reissued: again.count))
    }
}
