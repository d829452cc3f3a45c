import Foundation
import GRDB

/// A named admin API token (table `admin_token`): its name and a hash, never the token.
public struct AdminTokenRecord: Sendable, Equatable {
    public var name: String
    public var hash: [UInt8]
    public var createdAt: UInt64
    public var lastUsedAt: UInt64?
    public var revokedAt: UInt64?

    public init(name: String, hash: [UInt8], createdAt: UInt64, lastUsedAt: UInt64? = nil, revokedAt: UInt64? = nil) {
        self.name = name
        self.hash = hash
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

extension StoreTransaction {
    public func insertAdminToken(_ token: AdminTokenRecord) throws {
        try db.cachedStatement(sql: "INSERT INTO admin_token (name, hash, created_at) VALUES (?, ?, ?)")
            .execute(arguments: [token.name, Data(token.hash), Int64(clamping: token.createdAt)])
    }

    public func adminToken(name: String) throws -> AdminTokenRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM admin_token WHERE name = ?"), arguments: [name]).map(adminToken(from:))
    }

    public func adminToken(hash: [UInt8]) throws -> AdminTokenRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM admin_token WHERE hash = ?"), arguments: [Data(hash)]).map(adminToken(from:))
    }

    public func adminTokens() throws -> [AdminTokenRecord] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM admin_token ORDER BY created_at, name")).map(adminToken(from:))
    }

    /// Marks a token revoked; false when there is no live token of that name.
    public func revokeAdminToken(name: String, now: UInt64) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE admin_token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")
            .execute(arguments: [Int64(clamping: now), name])
        return db.changesCount > 0
    }

    public func touchAdminToken(name: String, now: UInt64) throws {
        try db.cachedStatement(sql: "UPDATE admin_token SET last_used_at = ? WHERE name = ?").execute(arguments: [Int64(clamping: now), name])
    }

    private func adminToken(from row: Row) -> AdminTokenRecord {
        AdminTokenRecord(name: row["name"], hash: Array(row["hash"] as Data), createdAt: UInt64(clamping: row["created_at"] as Int64),
                         lastUsedAt: (row["last_used_at"] as Int64?).map { UInt64(clamping: $0) },
                         revokedAt: (row["revoked_at"] as Int64?).map { UInt64(clamping: $0) })
    }
}
