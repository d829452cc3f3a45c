import Foundation
import NomadModel
import NomadStore

/// One change in the feed a paired server follows (docs/PROTOCOL.md §13).
public struct FeedChange: Sendable, Equatable, Codable {
    /// Where the feed resumes after this change (`after=`); opaque to readers.
    public var cursor: String
    public var channel: String
    public var entity: String
    public var key: String
    public var op: String
    public var body: String
    public var hlc: String
    public var origin: String
    public var id: String
    /// This site wrote it (the paired server's own change, or nomadsync's).
    public var local: Bool
}

/// A page of the feed.
public struct FeedPage: Sendable, Equatable, Codable {
    public var changes: [FeedChange]
    /// Resume after this: the last change's cursor, or the one asked for when nothing came.
    public var cursor: String
    /// More changes wait after this page.
    public var more: Bool
}

/// The state a feed reader starts from (`snapshot=true`), and the cursor to follow it with.
public struct FeedSnapshot: Sendable, Equatable, Codable {
    public var channel: String
    public var state: [FeedChange]
    public var cursor: String
}

extension Site {
    /// How long an Idempotency-Key is remembered: 24 hours.
    public static let idempotencyMilliseconds: UInt64 = 24 * 3_600_000

    /// Changes applied here after `cursor` (all channels when `nickname` is nil), oldest first:
    /// those from other clones, and this site's own too with `includeLocal`. Cursors are log
    /// positions, so they survive restarts; an empty or absent cursor starts at the beginning.
    public func changes(nickname: String?, after cursor: String?, limit: Int = 500, includeLocal: Bool = false) throws -> FeedPage {
        let start = try Self.position(cursor)
        let cap = max(1, min(limit, 1000))
        let channel = try nickname.map { try record(nickname: $0) }
        return try store.read { tx in
            var nicknames: [Int64: String] = [:]
            if let channel { nicknames[channel.rowID] = channel.nickname }
            let rows = try tx.feed(channel: channel?.rowID, after: start, limit: cap + 1, includeLocal: includeLocal)
            var changes: [FeedChange] = []
            for row in rows.prefix(cap) {
                if nicknames[row.channel] == nil { nicknames[row.channel] = try tx.channel(rowID: row.channel)?.nickname ?? "" }
                changes.append(FeedChange(row, nickname: nicknames[row.channel] ?? ""))
            }
            return FeedPage(changes: changes, cursor: changes.last?.cursor ?? String(start), more: rows.count > cap)
        }
    }

    /// The channel's live documents and the cursor to follow the feed from (bootstrap mode).
    public func feedSnapshot(nickname: String) throws -> FeedSnapshot {
        let channel = try record(nickname: nickname)
        return try store.read { tx in
            let position = try tx.lastPosition(channel: nil)
            let state = try tx.stateRows(channel: channel.rowID).filter { $0.op == .put }.map { row in
                FeedChange(cursor: String(position), channel: channel.nickname, entity: row.entity, key: row.key, op: row.op.rawValue,
                           body: row.body, hlc: row.hlc.text, origin: row.origin.text, id: row.entryID, local: false)
            }
            return FeedSnapshot(channel: channel.nickname, state: state, cursor: String(position))
        }
    }

    /// `append`, applied once per Idempotency-Key and channel within 24 hours: the same key
    /// again answers the entries the first batch made and appends nothing.
    public func append(nickname: String, _ changes: [Change], idempotencyKey: String) throws -> [ChangeEntry] {
        guard !idempotencyKey.isEmpty, idempotencyKey.utf8.count <= 200 else {
            throw EngineError.invalidArgument("an Idempotency-Key is 1 to 200 bytes")
        }
        let channel = try record(nickname: nickname)
        let now = clock.nowMilliseconds()
        let since = now > Self.idempotencyMilliseconds ? now - Self.idempotencyMilliseconds : 0
        let earlier = {
            try self.store.read { tx -> [ChangeEntry]? in
                try tx.idempotentEntries(channel: channel.rowID, key: idempotencyKey, since: since)
            }
        }
        if let entries = try earlier() { return entries }
        struct SeenMeanwhile: Error {}
        do {
            return try append(nickname: nickname, changes, also: { entries, tx in
                // Checked again inside the transaction: a concurrent request with the same key won.
                guard try tx.idempotentEntries(channel: channel.rowID, key: idempotencyKey, since: since) == nil else { throw SeenMeanwhile() }
                try tx.rememberIdempotent(channel: channel.rowID, key: idempotencyKey, entries: entries, now: now, expireBefore: since)
            })
        } catch is SeenMeanwhile {
            return try earlier() ?? []
        }
    }

    static func position(_ cursor: String?) throws -> Int64 {
        guard let cursor, !cursor.isEmpty else { return 0 }
        guard let value = Int64(cursor), value >= 0 else { throw EngineError.invalidArgument("'\(cursor.prefix(40))' is not a cursor of this feed") }
        return value
    }
}

extension FeedChange {
    init(_ row: FeedRow, nickname: String) {
        self.init(cursor: String(row.position), channel: nickname, entity: row.entry.entity, key: row.entry.key, op: row.entry.op.rawValue,
                  body: row.entry.body, hlc: row.entry.hlc.text, origin: row.entry.origin.text, id: row.entry.id, local: row.local)
    }
}
