import Foundation
import GRDB
import NomadModel

/// What this site knows about delivering to one other location of a channel.
/// A location without a row is a peer that nothing has gone wrong with yet.
public struct PeerRecord: Sendable, Equatable {
    public var siteID: SiteID
    /// Every URL of the location failed on the last attempt.
    public var offline: Bool
    /// Failed attempts in a row (drives the backoff).
    public var attempts: Int
    /// Milliseconds since 1970: no delivery before this.
    public var nextAttempt: UInt64
    /// When a signed message from this location last arrived.
    public var lastHeard: UInt64?
    /// When a packet to this location was last acknowledged.
    public var lastDelivered: UInt64?
    public var lastError: String?
    /// The vector and digest the location last reported (heartbeat or packet).
    public var vector: VersionVector?
    public var digest: String?
    /// When the location last delivered entries of its own writer here (set with `lastHeard`).
    public var lastPushed: UInt64?

    public init(siteID: SiteID, offline: Bool = false, attempts: Int = 0, nextAttempt: UInt64 = 0, lastHeard: UInt64? = nil,
                lastDelivered: UInt64? = nil, lastError: String? = nil, vector: VersionVector? = nil, digest: String? = nil,
                lastPushed: UInt64? = nil) {
        self.lastPushed = lastPushed
        self.siteID = siteID
        self.offline = offline
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.lastHeard = lastHeard
        self.lastDelivered = lastDelivered
        self.lastError = lastError
        self.vector = vector
        self.digest = digest
    }
}

extension StoreTransaction {
    // MARK: Peers

    func peer(from row: Row) throws -> PeerRecord {
        // A stored report that no longer reads (written before the bounds were enforced) counts
        // as no report: the peer's next heartbeat replaces it.
        var vector: VersionVector?
        if let text: String = row["vector"] {
            vector = try? VersionVector.decode(text, what: "stored peer vector")
        }
        return PeerRecord(
            siteID: try SiteID(validating: row["site_id"]), offline: row["offline"], attempts: max(0, row["attempts"] as Int),
            nextAttempt: UInt64(max(0, row["next_attempt"] as Int64)),
            lastHeard: (row["last_heard"] as Int64?).map { UInt64(max(0, $0)) },
            lastDelivered: (row["last_delivered"] as Int64?).map { UInt64(max(0, $0)) },
            lastError: row["last_error"], vector: vector, digest: row["digest"],
            lastPushed: (row["last_pushed"] as Int64?).map { UInt64(max(0, $0)) })
    }

    public func peer(channel: Int64, siteID: SiteID) throws -> PeerRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM peer WHERE channel = ? AND site_id = ?"), arguments: [channel, siteID.text])
            .map(peer(from:))
    }

    public func peers(channel: Int64) throws -> [PeerRecord] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM peer WHERE channel = ? ORDER BY site_id"), arguments: [channel]).map(peer(from:))
    }

    /// Something sent to `siteID` was acknowledged at `now`, in one statement instead of reading
    /// and rewriting the whole stored record (its report's vector is JSON): online, backoff over,
    /// no error, `last_delivered` now (`PeerRecord.delivered(at:)`); the rest is kept. Creates the
    /// row when there is none. Returns whether the location was offline.
    public func markDelivered(channel: Int64, siteID: SiteID, at now: UInt64) throws -> Bool {
        let wasOffline = try Bool.fetchOne(try db.cachedStatement(sql: "SELECT offline FROM peer WHERE channel = ? AND site_id = ?"),
                                           arguments: [channel, siteID.text]) ?? false
        try db.cachedStatement(sql: """
            INSERT INTO peer (channel, site_id, offline, attempts, next_attempt, last_delivered, last_error) VALUES (?, ?, 0, 0, 0, ?, NULL)
            ON CONFLICT (channel, site_id) DO UPDATE SET
                offline = 0, attempts = 0, next_attempt = 0, last_delivered = excluded.last_delivered, last_error = NULL
            """).execute(arguments: [channel, siteID.text, Int64(clamping: now)])
        return wasOffline
    }

    public func putPeer(channel: Int64, _ p: PeerRecord) throws {
        let vectorText = try p.vector.map { try WireJSON.encode($0) }
        try db.cachedStatement(sql: """
            INSERT INTO peer (channel, site_id, offline, attempts, next_attempt, last_heard, last_delivered, last_error, vector, digest,
                              last_pushed)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel, site_id) DO UPDATE SET
                offline = excluded.offline, attempts = excluded.attempts, next_attempt = excluded.next_attempt,
                last_heard = excluded.last_heard, last_delivered = excluded.last_delivered,
                last_error = excluded.last_error, vector = excluded.vector, digest = excluded.digest, last_pushed = excluded.last_pushed
            """).execute(arguments: [channel, p.siteID.text, p.offline, p.attempts, Int64(clamping: p.nextAttempt),
                             p.lastHeard.map { Int64(clamping: $0) }, p.lastDelivered.map { Int64(clamping: $0) },
                             p.lastError, vectorText, p.digest, p.lastPushed.map { Int64(clamping: $0) }])
    }

    // MARK: Replay window

    /// Records a request token; false when it was already seen since `windowStart`.
    /// Tokens older than the window are forgotten.
    public func recordToken(_ token: String, now: UInt64, windowStart: UInt64) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM seen_token WHERE seen_at < ?").execute(arguments: [Int64(clamping: windowStart)])
        if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM seen_token WHERE token = ?)"), arguments: [token]) == true {
            return false
        }
        try db.cachedStatement(sql: "INSERT INTO seen_token (token, seen_at) VALUES (?, ?)").execute(arguments: [token, Int64(clamping: now)])
        return true
    }

    /// How many request tokens are remembered.
    public func tokenCount() throws -> Int {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM seen_token")) ?? 0
    }
}
