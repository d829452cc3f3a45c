import Foundation
import GRDB
import NomadModel

/// A key a channel had before a rekey (table `former_key`).
public struct FormerKey: Sendable, Equatable {
    public var portableID: PortableID
    public var publicKey: [UInt8]
    public var seedSealed: [UInt8]
    /// Still valid (linked by a rekey with `update:false`); false once superseded.
    public var valid: Bool

    public init(portableID: PortableID, publicKey: [UInt8], seedSealed: [UInt8], valid: Bool) {
        self.portableID = portableID
        self.publicKey = publicKey
        self.seedSealed = seedSealed
        self.valid = valid
    }
}

extension StoreTransaction {
    func formerKey(from row: Row) throws -> FormerKey {
        FormerKey(portableID: try PortableID(validating: row["portable_id"]), publicKey: Array(row["public_key"] as Data),
                  seedSealed: Array(row["seed_sealed"] as Data), valid: (row["valid"] as Int64) == 1)
    }

    /// Every former key of a channel, in the order they were retired.
    public func formerKeys(channel: Int64) throws -> [FormerKey] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM former_key WHERE channel = ? ORDER BY rowid"), arguments: [channel])
            .map(formerKey(from:))
    }

    /// The channel a former portable_id belonged to, with that key.
    public func channel(formerPortableID: PortableID) throws -> (ChannelRecord, FormerKey)? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM former_key WHERE portable_id = ?"),
                                         arguments: [formerPortableID.text]) else { return nil }
        let id: Int64 = row["channel"]
        guard let channel = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE id = ?"),
                                             arguments: [id]).map(channel(from:)) else { return nil }
        return (channel, try formerKey(from: row))
    }

    public func channel(rowID: Int64) throws -> ChannelRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(Self.channelColumns) FROM channel WHERE id = ?"), arguments: [rowID])
            .map(channel(from:))
    }

    /// Records a key the channel no longer uses (or updates whether it is still valid).
    public func saveFormerKey(channel: Int64, _ key: FormerKey) throws {
        try db.cachedStatement(sql: """
            INSERT INTO former_key (channel, portable_id, public_key, seed_sealed, valid) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (channel, portable_id) DO UPDATE SET valid = excluded.valid
            """).execute(arguments: [channel, key.portableID.text, Data(key.publicKey), Data(key.seedSealed), key.valid ? 1 : 0])
    }

    /// Makes a key the channel's current one; the portable_id follows the key. A former key that
    /// becomes current again leaves `former_key`.
    public func setChannelKey(channel: Int64, portableID: PortableID, publicKey: [UInt8], seedSealed: [UInt8]) throws {
        try db.cachedStatement(sql: "DELETE FROM former_key WHERE channel = ? AND portable_id = ?").execute(arguments: [channel, portableID.text])
        try db.cachedStatement(sql: "UPDATE channel SET portable_id = ?, public_key = ?, seed_sealed = ? WHERE id = ?")
            .execute(arguments: [portableID.text, Data(publicKey), Data(seedSealed), channel])
    }

    /// Whether the channel was purged and still holds its data (its sealed seed).
    public func isPurgedAndNotWiped(channel: Int64) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT purged_at IS NOT NULL AND length(seed_sealed) > 0 FROM channel WHERE id = ?"),
                          arguments: [channel]) ?? false
    }

    /// Marks the channel purged (deleted everywhere) at `time` (Unix ms).
    public func markPurged(channel: Int64, at time: UInt64) throws {
        try db.cachedStatement(sql: "UPDATE channel SET purged_at = ? WHERE id = ? AND purged_at IS NULL")
            .execute(arguments: [Int64(clamping: time), channel])
    }

    /// Forgets everything of a purged channel but its row: log, held entries, state, vector,
    /// outbox, peers, writers, voided ids, former keys, and the sealed seed itself.
    public func setMovedTo(channel: Int64, idURL: String) throws {
        try db.cachedStatement(sql: "UPDATE channel SET moved_to = ? WHERE id = ?").execute(arguments: [idURL, channel])
    }

    public func wipeChannel(_ channel: Int64) throws {
        for table in ["outbox_run", "pending", "state", "vector", "peer", "writer", "voided", "former_key", "message_outbox", "inbound_message", "entry"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE channel = ?", arguments: [channel])
        }
        try db.execute(sql: "UPDATE channel SET seed_sealed = X'', digest = zeroblob(32), diverged = NULL WHERE id = ?", arguments: [channel])
    }
}

/// An invitation to make a new clone (table `clone_ticket`).
public struct CloneTicketRecord: Sendable, Equatable {
    public var id: String
    public var channel: Int64
    public var secretSealed: [UInt8]
    public var expiresAt: UInt64
    public var claimedBy: SiteID?
    /// The claimant's card (JSON), kept to verify its page requests.
    public var claimedCard: String?
    public var claimedAt: UInt64?

    public init(id: String, channel: Int64, secretSealed: [UInt8], expiresAt: UInt64, claimedBy: SiteID? = nil, claimedCard: String? = nil,
                claimedAt: UInt64? = nil) {
        self.id = id
        self.channel = channel
        self.secretSealed = secretSealed
        self.expiresAt = expiresAt
        self.claimedBy = claimedBy
        self.claimedCard = claimedCard
        self.claimedAt = claimedAt
    }
}

extension StoreTransaction {
    public func insertCloneTicket(_ ticket: CloneTicketRecord, now: UInt64) throws {
        try db.cachedStatement(sql: "INSERT INTO clone_ticket (id, channel, secret_sealed, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [ticket.id, ticket.channel, Data(ticket.secretSealed), Int64(clamping: ticket.expiresAt), Int64(clamping: now)])
    }

    public func cloneTicket(id: String) throws -> CloneTicketRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM clone_ticket WHERE id = ?"), arguments: [id]).map { row in
            CloneTicketRecord(id: row["id"], channel: row["channel"], secretSealed: Array(row["secret_sealed"] as Data),
                              expiresAt: UInt64(clamping: row["expires_at"] as Int64),
                              claimedBy: try (row["claimed_by"] as String?).map(SiteID.init(validating:)), claimedCard: row["claimed_card"],
                              claimedAt: (row["claimed_at"] as Int64?).map { UInt64(clamping: $0) })
        }
    }

    public func claimCloneTicket(id: String, by siteID: SiteID, card: String, at now: UInt64) throws {
        try db.cachedStatement(sql: "UPDATE clone_ticket SET claimed_by = ?, claimed_card = ?, claimed_at = ? WHERE id = ?")
            .execute(arguments: [siteID.text, card, Int64(clamping: now), id])
    }

    public func setBootstrap(channel: Int64, _ value: String?) throws {
        try db.cachedStatement(sql: "UPDATE channel SET bootstrap = ? WHERE id = ?").execute(arguments: [value, channel])
    }
}
