import NomadModel
import NomadStore

/// Appends local changes (from the paired server or the CLI) to a channel's log: each gets the
/// next seq of this site's writer and a fresh hybrid clock reading, and takes effect at once.
///
/// ```swift
/// let entries = try store.write { tx in
///     try ChangeLog().append([Change(entity: "item", key: "k", op: .put, body: "{}")],
///                            to: channel, in: tx, now: clock.nowMilliseconds())
/// }
/// ```
public struct ChangeLog: Sendable {
    public var limits: WireLimits

    public init(limits: WireLimits = .standard) { self.limits = limits }

    /// Validates every change first, then writes them all in the caller's transaction.
    package func append(_ changes: [Change], to channel: ChannelRecord, in tx: StoreTransaction,
                       now: UInt64) throws -> [ChangeEntry] {
        for (index, change) in changes.enumerated() {
            do { try change.validate(limits: limits) } catch let error as ModelError {
                throw EngineError.invalidChange(index: index, reason: error.description)
            }
        }
        let writer = channel.writer
        if let held = try tx.pendingSeqs(channel: channel.rowID)[writer], !held.isEmpty {
            throw EngineError.staleWriter(origin: writer.text)
        }
        var ledger = try LedgerWriter(tx: tx, channel: channel)
        var clock = HybridClock(last: try tx.clock())
        var written: [ChangeEntry] = []
        for change in changes {
            let entry = ChangeEntry(origin: writer, seq: ledger.vector[writer] + 1, hlc: clock.tick(wallMilliseconds: now),
                                    entity: change.entity, key: change.key, op: change.op, body: change.body)
            try ledger.apply(entry, local: true)
            written.append(entry)
        }
        try ledger.finish()
        try tx.setClock(clock.last)
        return written
    }
}
