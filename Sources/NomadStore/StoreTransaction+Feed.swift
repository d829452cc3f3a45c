import Foundation
import GRDB
import NomadModel

/// One applied entry as the changes feed shows it: its place in this site's log (the cursor),
/// its channel, and whether this site wrote it.
public struct FeedRow: Sendable, Equatable {
    public var position: Int64
    public var channel: Int64
    public var entry: ChangeEntry
    public var local: Bool
}

extension StoreTransaction {
    /// Applied entries after `position` in arrival order (every channel when `channel` is nil),
    /// the ones this site wrote only when `includeLocal`.
    public func feed(channel: Int64?, after position: Int64, limit: Int, includeLocal: Bool) throws -> [FeedRow] {
        var sql = "SELECT position, channel, local, \(Self.entryColumns) FROM entry WHERE position > ?"
        var arguments: StatementArguments = [position]
        if let channel {
            sql += " AND channel = ?"
            arguments += [channel]
        }
        // This site's own entries only on request — but an `inbound` entry is always shown: it
        // is an activity for the paired server, whoever wrote it.
        if !includeLocal { sql += " AND (local = 0 OR entity = 'inbound')" }
        // An activity delivered to several clones is mirrored by each: the first one counts.
        sql += """
             AND NOT (entity = 'inbound' AND EXISTS (SELECT 1 FROM entry AS e WHERE e.channel = entry.channel
                      AND e.entity = 'inbound' AND e.key = entry.key AND e.position < entry.position))
            """
        sql += " ORDER BY position LIMIT ?"
        arguments += [limit]
        return try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments).map { row in
            FeedRow(position: row["position"], channel: row["channel"], entry: try entry(from: row), local: (row["local"] as Int64) == 1)
        }
    }

    /// The greatest log position so far (0 for an empty log).
    public func lastPosition(channel: Int64?) throws -> Int64 {
        if let channel {
            return try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM entry WHERE channel = ?"),
                                      arguments: [channel]) ?? 0
        }
        return try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM entry")) ?? 0
    }

    /// The entry ids a batch with this Idempotency-Key made, if it was seen since `since`.
    public func idempotentEntries(channel: Int64, key: String, since: UInt64) throws -> [String]? {
        guard let text = try String.fetchOne(try db.cachedStatement(sql: """
            SELECT entry_ids FROM idempotency_key WHERE channel = ? AND key = ? AND created_at >= ?
            """), arguments: [channel, key, Int64(clamping: since)]) else { return nil }
        return try WireJSON.decode([String].self, from: text, what: "idempotent entry ids")
    }

    /// Remembers a batch's entries under its key (and forgets keys older than `expireBefore`).
    public func rememberIdempotent(channel: Int64, key: String, entryIDs: [String], now: UInt64, expireBefore: UInt64) throws {
        try db.cachedStatement(sql: "DELETE FROM idempotency_key WHERE created_at < ?").execute(arguments: [Int64(clamping: expireBefore)])
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO idempotency_key (channel, key, entry_ids, created_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [channel, key, try WireJSON.encode(entryIDs), Int64(clamping: now)])
    }

    /// Applied entries of a channel by id, in the order asked.
    public func entries(channel: Int64, ids: [String]) throws -> [ChangeEntry] {
        try ids.compactMap { id in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entry WHERE channel = ? AND id = ?"),
                             arguments: [channel, id]).map(entry(from:))
        }
    }
}
