import Foundation
import GRDB
import NomadCrypto
import NomadModel

/// The queries the engine needs, inside one transaction (or one read snapshot). Only valid inside
/// the `Store.write`/`Store.read` closure that handed it out.
public struct StoreTransaction {
    let db: Database
    let hostKey: SecureBytes
    let notes = Notes()

    /// What a write transaction says about itself, read by `Store.write` once it commits.
    final class Notes {
        var quiet = false
        /// The origin the last stored entry read named: a log has few origins, and checking
        /// one (a base64url decode) was 4% of a sending site's CPU in a catch-up.
        var lastOrigin: OriginID?
    }

    /// The origin stored as `text`, checked once per run of entries of the same origin.
    func origin(stored text: String) throws -> OriginID {
        if let last = notes.lastOrigin, last.text.utf8.elementsEqual(text.utf8) { return last }
        let origin = try OriginID(validating: text)
        notes.lastOrigin = origin
        return origin
    }

    /// Declares that this write changes nothing a delivery plan depends on, except times the
    /// delivery worker accounts for itself (when a location last heard from us or we from it):
    /// a heartbeat that reported what was already known. Its commit does not move
    /// `Store.deliveryMarker()`, so an idle node does not plan every channel again for it.
    public func markQuiet() { notes.quiet = true }

    /// A sequence number as SQLite stores it. Stored seqs never exceed `Int64.max` (the replay
    /// engine refuses larger ones), so a larger one from a query clamps: nothing lies beyond it.
    static func sqlSeq(_ seq: UInt64) -> Int64 { Int64(clamping: seq) }

    // MARK: Site

    public func site() throws -> SiteRecord? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM site WHERE id = 1")) else { return nil }
        return SiteRecord(
            url: row["url"], siteID: try SiteID(validating: row["site_id"]),
            signPublic: Array(row["sign_public"] as Data), signSeedSealed: Array(row["sign_seed_sealed"] as Data),
            sealPublic: Array(row["seal_public"] as Data), sealSeedSealed: Array(row["seal_seed_sealed"] as Data),
            hlc: HybridTimestamp(rawValue: UInt64(bitPattern: row["hlc"])), createdAt: row["created_at"])
    }

    public func insertSite(_ site: SiteRecord) throws {
        try db.cachedStatement(sql: """
            INSERT INTO site (id, url, site_id, sign_public, sign_seed_sealed, seal_public, seal_seed_sealed, hlc, created_at)
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [site.url, site.siteID.text, Data(site.signPublic), Data(site.signSeedSealed),
                             Data(site.sealPublic), Data(site.sealSeedSealed), Int64(bitPattern: site.hlc.rawValue), site.createdAt])
    }

    /// The site's hybrid clock reading, persisted so it never goes back across restarts.
    public func clock() throws -> HybridTimestamp {
        let raw = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT hlc FROM site WHERE id = 1")) ?? 0
        return HybridTimestamp(rawValue: UInt64(bitPattern: raw))
    }

    public func setClock(_ hlc: HybridTimestamp) throws {
        try db.cachedStatement(sql: "UPDATE site SET hlc = ? WHERE id = 1").execute(arguments: [Int64(bitPattern: hlc.rawValue)])
    }

    // MARK: Channels

    static let channelColumns = "id, nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, diverged, created_at, purged_at, moved_to, bootstrap"

    func channel(from row: Row) throws -> ChannelRecord {
        ChannelRecord(
            rowID: row["id"], nickname: row["nickname"], name: row["name"], guid: row["guid"],
            portableID: try PortableID(validating: row["portable_id"]), publicKey: Array(row["public_key"] as Data),
            seedSealed: Array(row["seed_sealed"] as Data), writer: try OriginID(validating: row["writer"]),
            digest: Array(row["digest"] as Data), diverged: row["diverged"], createdAt: row["created_at"],
            purgedAt: (row["purged_at"] as Int64?).map { UInt64(clamping: $0) }, movedTo: row["moved_to"], bootstrap: row["bootstrap"])
    }

    public func channel(nickname: String) throws -> ChannelRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE nickname = ?"), arguments: [nickname])
            .map(channel(from:))
    }

    public func channel(portableID: PortableID) throws -> ChannelRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE portable_id = ?"), arguments: [portableID.text])
            .map(channel(from:))
    }

    /// Every channel with its data, those still being bootstrapped included when asked.
    public func channels(includingHidden: Bool) throws -> [ChannelRecord] {
        guard includingHidden else { return try channels() }
        return try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE length(seed_sealed) > 0 ORDER BY nickname"))
            .map(channel(from:))
    }

    /// The channels this site carries (not wiped, not still being bootstrapped), by nickname.
    public func channels() throws -> [ChannelRecord] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE length(seed_sealed) > 0 AND bootstrap IS NULL ORDER BY nickname")).map(channel(from:))
    }

    /// Inserts a channel and returns it with its local row id.
    public func insertChannel(_ channel: ChannelRecord) throws -> ChannelRecord {
        if try self.channel(nickname: channel.nickname) != nil { throw StoreError.channelExists("'\(channel.nickname)'") }
        if try self.channel(portableID: channel.portableID) != nil { throw StoreError.channelExists(channel.portableID.text) }
        try db.cachedStatement(sql: """
            INSERT INTO channel (nickname, name, guid, portable_id, public_key, seed_sealed, writer, digest, diverged, created_at, bootstrap)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [channel.nickname, channel.name, channel.guid, channel.portableID.text, Data(channel.publicKey),
                             Data(channel.seedSealed), channel.writer.text, Data(channel.digest), channel.diverged, channel.createdAt,
                             channel.bootstrap])
        var stored = channel
        stored.rowID = db.lastInsertedRowID
        return stored
    }

    public func setDigest(channel: Int64, _ digest: [UInt8]) throws {
        try db.cachedStatement(sql: LedgerSQL.setDigest).execute(arguments: [Data(digest), channel])
    }

    public func setDiverged(channel: Int64, reason: String?) throws {
        try db.cachedStatement(sql: "UPDATE channel SET diverged = ? WHERE id = ?").execute(arguments: [reason, channel])
    }

    // MARK: Log

    static let entryColumns = "id, origin, seq, hlc, entity, key, op, body"

    /// The entry in `row`, whose columns from index `first` on are `entryColumns` in that order.
    /// Read by index, not by name: a name lookup compares every column name case-insensitively,
    /// which was a tenth of a sending site's CPU during a catch-up. A value of the wrong type
    /// (a damaged file) throws instead of trapping.
    func entry(from row: Row, at first: Int = 0) throws -> ChangeEntry {
        let opText = try row.decode(String.self, atIndex: first + 6)
        guard let op = ChangeOp(rawValue: opText) else { throw StoreError.database("bad op \(opText) in stored entry") }
        return ChangeEntry(id: try row.decode(String.self, atIndex: first),
                           origin: try origin(stored: try row.decode(String.self, atIndex: first + 1)),
                           seq: UInt64(clamping: try row.decode(Int64.self, atIndex: first + 2)),
                           hlc: HybridTimestamp(rawValue: UInt64(bitPattern: try row.decode(Int64.self, atIndex: first + 3))),
                           entity: try row.decode(String.self, atIndex: first + 4), key: try row.decode(String.self, atIndex: first + 5),
                           op: op, body: try row.decode(String.self, atIndex: first + 7))
    }

    /// The entry in the current row of `s`, whose columns from index `first` on are
    /// `entryColumns` in that order: `entry(from:at:)` through SQLite's C API, for the reads
    /// that page through the log (a sending site's packets, pulled pages, `log show`, export),
    /// where GRDB's row and column objects were most of the cost of reading an entry. An
    /// origin equal to the last one read is compared as bytes, not made into a String again.
    func entry(from s: DirectStatement, at first: Int32 = 0) throws -> ChangeEntry {
        let opText = try s.text(first + 6)
        guard let op = ChangeOp(rawValue: opText) else { throw StoreError.database("bad op \(opText.prefix(40)) in stored entry") }
        let origin: OriginID
        if let last = notes.lastOrigin, s.text(first + 1, equals: last.text) {
            origin = last
        } else {
            origin = try self.origin(stored: try s.text(first + 1))
        }
        return ChangeEntry(id: try s.text(first), origin: origin, seq: UInt64(clamping: try s.int64(first + 2)),
                           hlc: HybridTimestamp(rawValue: UInt64(bitPattern: try s.int64(first + 3))),
                           entity: try s.text(first + 4), key: try s.text(first + 5), op: op, body: try s.text(first + 7))
    }

    /// Reads every row of `statement` as a value, one row at a time (no copies of the rows).
    func rows<T>(_ statement: Statement, _ arguments: StatementArguments, _ read: (Row) throws -> T) throws -> [T] {
        var out: [T] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() { out.append(try read(row)) }
        return out
    }

    func arguments(channel: Int64, _ e: ChangeEntry) throws -> StatementArguments {
        guard let seq = Int64(exactly: e.seq) else { throw StoreError.database("seq \(e.seq) of entry \(e.id) is out of range") }
        return [channel, e.id, e.origin.text, seq, Int64(bitPattern: e.hlc.rawValue), e.entity, e.key, e.op.rawValue, e.body]
    }

    /// Appends an applied entry to the local copy of the log.
    /// Adds an entry to the log; `local` when this site wrote it (not received it).
    public func insertEntry(channel: Int64, _ entry: ChangeEntry, local: Bool = false) throws {
        guard let seq = Int64(exactly: entry.seq) else { throw StoreError.database("seq \(entry.seq) of entry \(entry.id) is out of range") }
        try DirectStatement(db, sql: LedgerSQL.insertEntry).run { s in
            try s.bind(1, channel); try s.bind(2, entry.id); try s.bind(3, entry.origin.text); try s.bind(4, seq)
            try s.bind(5, Int64(bitPattern: entry.hlc.rawValue)); try s.bind(6, entry.entity); try s.bind(7, entry.key)
            try s.bind(8, entry.op.rawValue); try s.bind(9, entry.body); try s.bind(10, local ? 1 : 0)
        }
    }

    /// The ids of `origin`'s entries after `seq` that this site wrote itself.
    public func localEntryIDs(channel: Int64, origin: OriginID, after seq: UInt64) throws -> Set<String> {
        Set(try String.fetchAll(try db.cachedStatement(sql: "SELECT id FROM entry WHERE channel = ? AND origin = ? AND seq > ? AND local = 1"),
                                arguments: [channel, origin.text, Self.sqlSeq(seq)]))
    }

    /// The id of the applied entry at `(origin, seq)`, if any.
    public func entryID(channel: Int64, origin: OriginID, seq: UInt64) throws -> String? {
        try String.fetchOne(try db.cachedStatement(sql: "SELECT id FROM entry WHERE channel = ? AND origin = ? AND seq = ?"),
                            arguments: [channel, origin.text, Self.sqlSeq(seq)])
    }

    /// Whether `entry` is applied or held. Looked up at its origin and seq (which its id fixes),
    /// so two index probes, and never the id alone: the log has no index on it.
    public func holds(channel: Int64, _ entry: ChangeEntry) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM entry WHERE channel = ?1 AND origin = ?2 AND seq = ?3 AND id = ?4)
                OR EXISTS (SELECT 1 FROM pending WHERE channel = ?1 AND origin = ?2 AND seq = ?3 AND id = ?4)
            """), arguments: [channel, entry.origin.text, Self.sqlSeq(entry.seq), entry.id]) ?? false
    }

    /// The applied `key` or `location` entry `entryID` (the winner a state row of those entities
    /// names), through the partial index that holds only those entities' ids.
    public func documentEntry(channel: Int64, entryID: String) throws -> ChangeEntry? {
        try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT \(Self.entryColumns) FROM entry WHERE channel = ? AND id = ? AND entity IN ('key', 'location')
            """), arguments: [channel, entryID]).map { try entry(from: $0) }
    }

    /// The lowest seq of each origin among the applied entries `ids` (entries a healed site
    /// voided). One scan of the channel's log: the log has no index on ids, and this is rare.
    public func lowestPlaces(channel: Int64, ids: [String]) throws -> [OriginID: UInt64] {
        guard !ids.isEmpty else { return [:] }
        var out: [OriginID: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT origin, MIN(seq) FROM entry WHERE channel = ? AND id IN (SELECT value FROM json_each(?)) GROUP BY origin
            """, arguments: [channel, try WireJSON.encode(ids)]) {
            out[try OriginID(validating: try row.decode(String.self, atIndex: 0))] = UInt64(clamping: try row.decode(Int64.self, atIndex: 1))
        }
        return out
    }

    /// Applied entries in arrival order, optionally only those of one origin after a seq.
    public func entries(channel: Int64, origin: OriginID? = nil, after seq: UInt64 = 0, limit: Int? = nil) throws -> [ChangeEntry] {
        var sql = "SELECT \(Self.entryColumns) FROM entry WHERE channel = ?"
        var args: StatementArguments = [channel]
        if let origin {
            sql += " AND origin = ? AND seq > ? ORDER BY seq"
            args += [origin.text, Self.sqlSeq(seq)]
        } else {
            sql += " ORDER BY position"
        }
        if let limit { sql += " LIMIT \(limit)" }
        guard let origin else { return try Row.fetchAll(db, sql: sql, arguments: args).map { try entry(from: $0) } }
        // An origin's page (a pull, catch-up's pages): through the C API.
        return try DirectStatement(db, sql: sql).all({ s in
            try s.bind(1, channel); try s.bind(2, origin.text); try s.bind(3, Self.sqlSeq(seq))
        }, { try entry(from: $0) })
    }

    /// A page of the log in arrival order: the entries after log position `afterPosition`.
    public func entries(channel: Int64, afterPosition: Int64, limit: Int) throws -> [(position: Int64, entry: ChangeEntry)] {
        try DirectStatement(db, sql: """
            SELECT position, \(Self.entryColumns) FROM entry WHERE channel = ? AND position > ? ORDER BY position LIMIT ?
            """).all({ s in
                try s.bind(1, channel); try s.bind(2, afterPosition); try s.bind(3, Int64(limit))
            }, { (position: try $0.int64(0), entry: try entry(from: $0, at: 1)) })
    }

    public func entryCount(channel: Int64) throws -> Int {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM entry WHERE channel = ?"), arguments: [channel]) ?? 0
    }

    // MARK: Pending (held) entries

    /// Holds `entry` (its place is past the vector), noting when (`heldAt`, ms since 1970).
    public func insertPending(channel: Int64, _ entry: ChangeEntry, heldAt: UInt64 = 0) throws {
        var values = try arguments(channel: channel, entry)
        values += [Int64(clamping: heldAt)]
        try db.cachedStatement(sql: "INSERT INTO pending (channel, \(Self.entryColumns), held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: values)
    }

    /// For each origin with held entries, when the oldest of them was held (0: before that was noted).
    public func pendingSince(channel: Int64) throws -> [OriginID: UInt64] {
        var out: [OriginID: UInt64] = [:]
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT origin, MIN(held_at) AS since FROM pending WHERE channel = ? GROUP BY origin"),
                                    arguments: [channel]) {
            out[try OriginID(validating: row["origin"])] = UInt64(max(0, row["since"] as Int64))
        }
        return out
    }

    public func pendingID(channel: Int64, origin: OriginID, seq: UInt64) throws -> String? {
        try String.fetchOne(try db.cachedStatement(sql: "SELECT id FROM pending WHERE channel = ? AND origin = ? AND seq = ?"),
                            arguments: [channel, origin.text, Self.sqlSeq(seq)])
    }

    /// Removes and returns the held entry at `(origin, seq)`.
    public func takePending(channel: Int64, origin: OriginID, seq: UInt64) throws -> ChangeEntry? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM pending WHERE channel = ? AND origin = ? AND seq = ?"),
                                         arguments: [channel, origin.text, Self.sqlSeq(seq)]) else { return nil }
        try db.cachedStatement(sql: "DELETE FROM pending WHERE channel = ? AND origin = ? AND seq = ?").execute(
                       arguments: [channel, origin.text, Self.sqlSeq(seq)])
        return try entry(from: row)
    }

    /// Held sequence numbers per origin, ascending.
    public func pendingSeqs(channel: Int64) throws -> [OriginID: [UInt64]] {
        var out: [OriginID: [UInt64]] = [:]
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT origin, seq FROM pending WHERE channel = ? ORDER BY origin, seq"), arguments: [channel]) {
            out[try OriginID(validating: row["origin"]), default: []].append(UInt64(clamping: row["seq"] as Int64))
        }
        return out
    }

    public func pendingCount(channel: Int64) throws -> Int {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM pending WHERE channel = ?"), arguments: [channel]) ?? 0
    }

    // MARK: Version vector

    public func vector(channel: Int64) throws -> VersionVector {
        var v = VersionVector()
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT origin, seq FROM vector WHERE channel = ?"), arguments: [channel]) {
            v[try OriginID(validating: row["origin"])] = UInt64(clamping: row["seq"] as Int64)
        }
        return v
    }

    public func setVector(channel: Int64, origin: OriginID, seq: UInt64) throws {
        try db.cachedStatement(sql: LedgerSQL.setVector).execute(arguments: [channel, origin.text, Self.sqlSeq(seq)])
    }

    // MARK: State

    /// The state row in `row`, whose columns are `LedgerSQL.stateColumns` in that order (read by
    /// index: see `entry(from:at:)`).
    func stateRow(from row: Row) throws -> StateRow {
        let opText = try row.decode(String.self, atIndex: 5)
        guard let op = ChangeOp(rawValue: opText) else { throw StoreError.database("bad op \(opText) in state row") }
        return StateRow(entity: try row.decode(String.self, atIndex: 0), key: try row.decode(String.self, atIndex: 1),
                        entryID: try row.decode(String.self, atIndex: 2),
                        origin: try OriginID(validating: try row.decode(String.self, atIndex: 3)),
                        hlc: HybridTimestamp(rawValue: UInt64(bitPattern: try row.decode(Int64.self, atIndex: 4))), op: op,
                        body: try row.decode(String.self, atIndex: 6))
    }

    public func stateRow(channel: Int64, entity: String, key: String) throws -> StateRow? {
        try DirectStatement(db, sql: LedgerSQL.selectState).first({ s in
            try s.bind(1, channel); try s.bind(2, entity); try s.bind(3, key)
        }) { s in
            let opText = try s.text(5)
            guard let op = ChangeOp(rawValue: opText) else { throw StoreError.database("bad op \(opText) in state row") }
            return StateRow(entity: try s.text(0), key: try s.text(1), entryID: try s.text(2), origin: try OriginID(validating: try s.text(3)),
                            hlc: HybridTimestamp(rawValue: UInt64(bitPattern: try s.int64(4))), op: op, body: try s.text(6))
        }
    }

    /// Every state row, tombstones included, ordered by entity and key.
    public func stateRows(channel: Int64, entity: String? = nil) throws -> [StateRow] {
        if let entity {
            return try rows(try db.cachedStatement(sql: "SELECT \(LedgerSQL.stateColumns) FROM state WHERE channel = ? AND entity = ? ORDER BY key"),
                            [channel, entity], stateRow(from:))
        }
        return try rows(try db.cachedStatement(sql: "SELECT \(LedgerSQL.stateColumns) FROM state WHERE channel = ? ORDER BY entity, key"),
                        [channel], stateRow(from:))
    }

    public func putState(channel: Int64, from entry: ChangeEntry) throws {
        try DirectStatement(db, sql: LedgerSQL.putState).run { s in
            try s.bind(1, channel); try s.bind(2, entry.entity); try s.bind(3, entry.key); try s.bind(4, entry.id)
            try s.bind(5, entry.origin.text); try s.bind(6, Int64(bitPattern: entry.hlc.rawValue)); try s.bind(7, entry.op.rawValue)
            try s.bind(8, entry.body)
        }
    }
}

extension StoreTransaction {
    // MARK: Writers

    /// Every writer id a `location` entry of the channel has named (this site's included).
    public func writers(channel: Int64) throws -> Set<OriginID> {
        Set(try String.fetchAll(try db.cachedStatement(sql: "SELECT origin FROM writer WHERE channel = ?"), arguments: [channel])
            .compactMap { try? OriginID(validating: $0) })
    }

    public func addWriter(channel: Int64, _ origin: OriginID) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO writer (channel, origin) VALUES (?, ?)").execute(arguments: [channel, origin.text])
    }

    /// Makes `origin` this site's writer for the channel (a site restored from a backup takes a new one).
    public func setChannelWriter(channel: Int64, _ origin: OriginID) throws {
        try db.cachedStatement(sql: "UPDATE channel SET writer = ? WHERE id = ?").execute(arguments: [origin.text, channel])
        try addWriter(channel: channel, origin)
    }

    /// Held entries per origin.
    public func pendingCounts(channel: Int64) throws -> [OriginID: Int] {
        var out: [OriginID: Int] = [:]
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT origin, COUNT(*) AS n FROM pending WHERE channel = ? GROUP BY origin"),
                                    arguments: [channel]) {
            if let origin = try? OriginID(validating: row["origin"]) { out[origin] = row["n"] }
        }
        return out
    }

    // MARK: Healing a reused writer

    /// Whether any entry of the channel was ever voided (most never have one).
    public func hasVoided(channel: Int64) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM voided WHERE channel = ?)"), arguments: [channel]) ?? false
    }

    /// Whether `entryID` was voided by a healed site.
    public func isVoided(channel: Int64, entryID: String) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM voided WHERE channel = ? AND id = ?)"), arguments: [channel, entryID]) ?? false
    }

    public func addVoided(channel: Int64, entryID: String) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO voided (channel, id) VALUES (?, ?)").execute(arguments: [channel, entryID])
    }

    /// Forgets a held entry.
    public func deletePending(channel: Int64, entryID: String) throws {
        try db.cachedStatement(sql: "DELETE FROM pending WHERE channel = ? AND id = ?").execute(arguments: [channel, entryID])
    }

    /// Removes `origin`'s applied entries after `seq` from the log (and from the outbox) and
    /// returns them in seq order. The caller repairs state, vector and digest.
    public func removeEntries(channel: Int64, origin: OriginID, after seq: UInt64) throws -> [ChangeEntry] {
        let removed = try entries(channel: channel, origin: origin, after: seq)
        try unqueue(channel: channel, positions: try Int64.fetchAll(
            try db.cachedStatement(sql: "SELECT position FROM entry WHERE channel = ? AND origin = ? AND seq > ?"),
            arguments: [channel, origin.text, Self.sqlSeq(seq)]))
        try db.cachedStatement(sql: "DELETE FROM entry WHERE channel = ? AND origin = ? AND seq > ?").execute(
                       arguments: [channel, origin.text, Self.sqlSeq(seq)])
        return removed
    }

    /// The applied entries for one document, whatever their origin.
    public func entries(channel: Int64, entity: String, key: String) throws -> [ChangeEntry] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entry WHERE channel = ? AND entity = ? AND key = ?"),
                         arguments: [channel, entity, key]).map { try entry(from: $0) }
    }

    public func deleteState(channel: Int64, entity: String, key: String) throws {
        try db.cachedStatement(sql: "DELETE FROM state WHERE channel = ? AND entity = ? AND key = ?").execute(arguments: [channel, entity, key])
    }

    /// Every held entry, by origin and seq.
    /// Held entries of one entity (the engine reads held `key` entries this way).
    public func pendingEntries(channel: Int64, entity: String) throws -> [ChangeEntry] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM pending WHERE channel = ? AND entity = ? ORDER BY origin, seq"),
                         arguments: [channel, entity]).map { try entry(from: $0) }
    }

    /// A page of the held entries, by origin and seq: those after (`origin`, `seq`), or from
    /// the first when `after` is nil.
    public func pendingEntries(channel: Int64, after: (origin: OriginID, seq: UInt64)?, limit: Int) throws -> [ChangeEntry] {
        guard let after else {
            return try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM pending WHERE channel = ? ORDER BY origin, seq LIMIT ?"),
                                    arguments: [channel, limit]).map { try entry(from: $0) }
        }
        return try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT \(Self.entryColumns) FROM pending WHERE channel = ? AND (origin, seq) > (?, ?) ORDER BY origin, seq LIMIT ?
            """), arguments: [channel, after.origin.text, Self.sqlSeq(after.seq), limit]).map { try entry(from: $0) }
    }

    public func pendingEntries(channel: Int64) throws -> [ChangeEntry] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM pending WHERE channel = ? ORDER BY origin, seq"),
                         arguments: [channel]).map { try entry(from: $0) }
    }
}
