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
        var (sql, arguments) = Self.feedQuery("SELECT position, channel, local, \(Self.entryColumns)", channel: channel, after: position,
                                              includeLocal: includeLocal)
        sql += " ORDER BY position LIMIT ?"
        arguments += [limit]
        return try rows(try db.cachedStatement(sql: sql), arguments) { row in
            FeedRow(position: try row.decode(Int64.self, atIndex: 0), channel: try row.decode(Int64.self, atIndex: 1),
                    entry: try entry(from: row, at: 3), local: try row.decode(Int64.self, atIndex: 2) == 1)
        }
    }

    /// How many feed entries come after `position` (a webhook's backlog).
    public func feedCount(channel: Int64?, after position: Int64, includeLocal: Bool) throws -> Int {
        let (sql, arguments) = Self.feedQuery("SELECT COUNT(*)", channel: channel, after: position, includeLocal: includeLocal)
        return try Int.fetchOne(try db.cachedStatement(sql: sql), arguments: arguments) ?? 0
    }

    static func feedQuery(_ select: String, channel: Int64?, after position: Int64, includeLocal: Bool) -> (String, StatementArguments) {
        var sql = "\(select) FROM entry WHERE position > ?"
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
        return (sql, arguments)
    }

    /// The greatest log position so far (0 for an empty log).
    public func lastPosition(channel: Int64?) throws -> Int64 {
        if let channel {
            return try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM entry WHERE channel = ?"),
                                      arguments: [channel]) ?? 0
        }
        return try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM entry")) ?? 0
    }

    /// Whether the channel's log holds an entry of `entity` past `position`: a range scan of
    /// the newer entries only (`entry_by_channel_position`).
    public func hasEntry(channel: Int64, entity: String, afterPosition position: Int64) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM entry WHERE channel = ? AND position > ? AND entity = ?)"),
                          arguments: [channel, position, entity]) ?? false
    }

    /// Where an entry a batch made sits in the log (an id fixes both; the log has no index on ids).
    struct Place: Codable { var origin: String; var seq: Int64 }

    /// The entries a batch with this Idempotency-Key made, in the order it made them, if it was
    /// seen since `since` (an entry taken back out of the log since then is left out).
    public func idempotentEntries(channel: Int64, key: String, since: UInt64) throws -> [ChangeEntry]? {
        guard let text = try String.fetchOne(try db.cachedStatement(sql: """
            SELECT places FROM idempotency_key WHERE channel = ? AND key = ? AND created_at >= ?
            """), arguments: [channel, key, Int64(clamping: since)]) else { return nil }
        return try WireJSON.decode([Place].self, from: text, what: "idempotent entries").compactMap { place in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entry WHERE channel = ? AND origin = ? AND seq = ?"),
                             arguments: [channel, place.origin, place.seq]).map { try entry(from: $0) }
        }
    }

    /// Remembers a batch's entries under its key (and forgets keys older than `expireBefore`).
    public func rememberIdempotent(channel: Int64, key: String, entries: [ChangeEntry], now: UInt64, expireBefore: UInt64) throws {
        let places = entries.map { Place(origin: $0.origin.text, seq: Self.sqlSeq($0.seq)) }
        try db.cachedStatement(sql: "DELETE FROM idempotency_key WHERE created_at < ?").execute(arguments: [Int64(clamping: expireBefore)])
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO idempotency_key (channel, key, places, created_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [channel, key, try WireJSON.encode(places), Int64(clamping: now)])
    }
}

/// A URL the feed is pushed to (table `webhook`).
public struct WebhookRecord: Sendable, Equatable {
    public var id: Int64
    public var url: String
    /// One channel's changes, or every channel's when nil.
    public var channel: Int64?
    public var includeLocal: Bool
    public var secretSealed: [UInt8]
    /// The feed position delivered so far.
    public var cursor: Int64
    public var attempts: Int
    public var nextAt: UInt64
    public var lastError: String?

    public init(id: Int64 = 0, url: String, channel: Int64?, includeLocal: Bool, secretSealed: [UInt8], cursor: Int64, attempts: Int = 0,
                nextAt: UInt64 = 0, lastError: String? = nil) {
        self.id = id
        self.url = url
        self.channel = channel
        self.includeLocal = includeLocal
        self.secretSealed = secretSealed
        self.cursor = cursor
        self.attempts = attempts
        self.nextAt = nextAt
        self.lastError = lastError
    }
}

extension StoreTransaction {
    public func insertWebhook(_ hook: WebhookRecord, now: UInt64) throws -> Int64 {
        try db.cachedStatement(sql: """
            INSERT INTO webhook (url, channel, local, secret_sealed, cursor, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [hook.url, hook.channel, hook.includeLocal ? 1 : 0, Data(hook.secretSealed), hook.cursor,
                                     Int64(clamping: now)])
        return db.lastInsertedRowID
    }

    public func webhooks() throws -> [WebhookRecord] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM webhook ORDER BY id")).map { row in
            WebhookRecord(id: row["id"], url: row["url"], channel: row["channel"], includeLocal: (row["local"] as Int64) == 1,
                          secretSealed: Array(row["secret_sealed"] as Data), cursor: row["cursor"], attempts: row["attempts"],
                          nextAt: UInt64(clamping: row["next_at"] as Int64), lastError: row["last_error"])
        }
    }

    public func updateWebhook(id: Int64, cursor: Int64, attempts: Int, nextAt: UInt64, lastError: String?) throws {
        try db.cachedStatement(sql: "UPDATE webhook SET cursor = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?")
            .execute(arguments: [cursor, attempts, Int64(clamping: nextAt), lastError, id])
    }

    public func deleteWebhook(id: Int64) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM webhook WHERE id = ?").execute(arguments: [id])
        return db.changesCount > 0
    }

}
