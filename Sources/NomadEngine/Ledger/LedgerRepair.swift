import NomadCrypto
import NomadModel
import NomadStore

/// Taking entries back out of a channel's log, shared by healing a writer, applying another
/// site's `voided` list and the admin's `heal --origin`: state rows and the digest follow.
enum LedgerRepair {
    /// Drops the entries a healed site voided (docs/PROTOCOL.md §3.2) from this clone: each voided
    /// entry that is held is forgotten; for each writer with a voided entry in the log, that entry
    /// and every later one of the writer leave the log (state and digest repaired), and the
    /// ordinary catch-up fetches the writer's true entries. Returns how many entries left the log.
    @discardableResult
    static func applyVoids(_ ids: [String], channel: ChannelRecord, in tx: StoreTransaction) throws -> Int {
        for id in ids {
            try tx.addVoided(channel: channel.rowID, entryID: id)
            try tx.deletePending(channel: channel.rowID, entryID: id)
        }
        let from = try tx.lowestPlaces(channel: channel.rowID, ids: ids)
        guard !from.isEmpty, let current = try tx.channel(rowID: channel.rowID) else { return 0 }
        var digest = StateDigest(bytes: current.digest)
        var dropped = 0
        for (origin, seq) in from.sorted(by: { $0.key < $1.key }) {
            let removed = try tx.removeEntries(channel: current.rowID, origin: origin, after: seq - 1)
            try repairState(after: removed, channel: current, digest: &digest, in: tx)
            try tx.setVector(channel: current.rowID, origin: origin, seq: seq - 1)
            dropped += removed.count
        }
        try tx.setDigest(channel: current.rowID, digest.bytes)
        return dropped
    }

    /// After entries left the log: every state row one of them won falls back to the best entry
    /// that remains for its document (or disappears), and the digest follows.
    static func repairState(after removed: [ChangeEntry], channel: ChannelRecord, digest: inout StateDigest,
                     in tx: StoreTransaction) throws {
        let gone = Set(removed.map { Array($0.id.utf8) })
        var done = Set<[UInt8]>()
        for entry in removed {
            let document = Array(entry.entity.utf8) + [0] + Array(entry.key.utf8)
            guard done.insert(document).inserted,
                  let row = try tx.stateRow(channel: channel.rowID, entity: entry.entity, key: entry.key),
                  gone.contains(Array(row.entryID.utf8)) else { continue }
            digest.subtract(StateDigest.term(guid: channel.guid, entity: row.entity, key: row.key, entryID: row.entryID))
            let remaining = try tx.entries(channel: channel.rowID, entity: entry.entity, key: entry.key)
            if let best = remaining.max(by: { LedgerWriter.beats($1, $0) }) {
                digest.add(StateDigest.term(guid: channel.guid, entity: best.entity, key: best.key, entryID: best.id))
                try tx.putState(channel: channel.rowID, from: best)
            } else {
                try tx.deleteState(channel: channel.rowID, entity: entry.entity, key: entry.key)
            }
        }
    }
}
