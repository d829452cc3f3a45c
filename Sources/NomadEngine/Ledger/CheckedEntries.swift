import NomadModel
import NomadStore

/// Entries whose fields and content ids were checked (`ChangeEntry.validate`) before the
/// transaction that replays them, so the writer does not check them again.
///
/// A receiving site replays one packet at a time (one writer), while it opens the next ones in
/// parallel: what is checked here runs beside the writer instead of holding it.
///
/// ```swift
/// let engine = ReplayEngine(limits: limits)
/// let checked = try engine.check(entries)           // no transaction yet
/// let report = try store.write { tx in try engine.apply(checked, to: channel, in: tx, now: now) }
/// ```
public struct CheckedEntries: Sendable {
    public let entries: [ChangeEntry]
    /// The limits they were checked against.
    let limits: WireLimits
}

extension ReplayEngine {
    /// Checks each entry's fields and content id, as `apply` would first, outside any
    /// transaction. Throws what `apply` throws for the first entry that fails.
    public func check(_ entries: [ChangeEntry]) throws -> CheckedEntries {
        guard entries.count <= limits.maxEntriesPerPacket else {
            throw EngineError.tooManyEntries(count: entries.count, limit: limits.maxEntriesPerPacket)
        }
        for (index, entry) in entries.enumerated() { try Self.check(entry, at: index, limits: limits) }
        return CheckedEntries(entries: entries, limits: limits)
    }

    /// `apply` for entries checked before the transaction, followed by `more` (checked here).
    /// Only the checks of the batch as a whole (clock skew, two entries at one place, origins)
    /// run again for `checked`, unless it was checked against other entry limits than this
    /// engine's.
    package func apply(_ checked: CheckedEntries, plus more: [ChangeEntry] = [], to channel: ChannelRecord, in tx: StoreTransaction,
                       now: UInt64, vouching: [ChangeEntry] = []) throws -> ReplayReport {
        let skip = Self.sameEntryChecks(checked.limits, limits) ? checked.entries.count : 0
        return try apply(checked.entries + more, to: channel, in: tx, now: now, vouching: vouching, alreadyChecked: skip)
    }

    /// One entry's fields and content id, with the engine's error for it.
    static func check(_ entry: ChangeEntry, at index: Int, limits: WireLimits) throws {
        do {
            try entry.validate(limits: limits)
        } catch let error as ModelError {
            throw EngineError.invalidEntry(index: index, id: entry.id, reason: error.description)
        }
    }

    /// Whether two sets of limits check an entry alike: everything but the entries per packet,
    /// which bounds a batch, not an entry.
    static func sameEntryChecks(_ a: WireLimits, _ b: WireLimits) -> Bool {
        var a = a
        a.maxEntriesPerPacket = b.maxEntriesPerPacket
        return a == b
    }
}
