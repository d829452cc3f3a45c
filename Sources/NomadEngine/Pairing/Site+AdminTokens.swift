import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A named admin API token as `token list` and `GET /api/v1/tokens` show it (never the token).
public struct AdminTokenInfo: Sendable, Equatable, Codable {
    public var name: String
    public var createdAt: String
    public var lastUsedAt: String?
    public var revokedAt: String?

    enum CodingKeys: String, CodingKey {
        case name
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case revokedAt = "revoked_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(revokedAt, forKey: .revokedAt)
    }
}

/// A token just made: the only time it is shown.
public struct NewAdminToken: Sendable, Equatable, Codable {
    public var name: String
    /// `nst_` and 32 random bytes as base64url: what goes after `Authorization: Bearer `.
    public var token: String
}

extension Site {
    /// Makes a named admin token (`nomadsync token create --name NAME`). Only its BLAKE2b hash is
    /// stored, so a copy of the database gives no access; the token is returned once.
    public func createAdminToken(name: String) throws -> NewAdminToken {
        try Self.validateTokenName(name)
        let token = "nst_" + Base64URL.encode(random.bytes(32))
        let now = clock.nowMilliseconds()
        try store.write { tx in
            if try tx.adminToken(name: name) != nil {
                throw EngineError.invalidArgument("a token named '\(name)' exists already (names are never reused, even once revoked)")
            }
            try tx.insertAdminToken(AdminTokenRecord(name: name, hash: Self.tokenHash(token), createdAt: now))
        }
        return NewAdminToken(name: name, token: token)
    }

    /// Revokes a named token at once: the next request that carries it gets 401.
    public func revokeAdminToken(name: String) throws {
        let now = clock.nowMilliseconds()
        try store.write { tx in
            guard try tx.revokeAdminToken(name: name, now: now) else {
                throw EngineError.invalidArgument("there is no live token named '\(name.prefix(64))' (see nomadsync token list)")
            }
        }
    }

    public func adminTokens() throws -> [AdminTokenInfo] {
        try store.read { try $0.adminTokens() }.map { record in
            AdminTokenInfo(name: record.name, createdAt: Self.timeText(record.createdAt), lastUsedAt: record.lastUsedAt.map(Self.timeText),
                           revokedAt: record.revokedAt.map(Self.timeText))
        }
    }

    /// The name of the live token `token` is, or nil. Records when it was last used.
    public func adminTokenName(for token: String) throws -> String? {
        guard token.hasPrefix("nst_"), token.utf8.count < 128 else { return nil }
        let hash = Self.tokenHash(token)
        let now = clock.nowMilliseconds()
        return try store.write { tx in
            guard let record = try tx.adminToken(hash: hash), record.revokedAt == nil else { return nil }
            // At most once a minute, so a busy paired server does not write on every request.
            if now >= (record.lastUsedAt ?? 0) + 60_000 { try tx.touchAdminToken(name: record.name, now: now) }
            return record.name
        }
    }

    static func tokenHash(_ token: String) -> [UInt8] { Blake2b.hash256(Array(token.utf8)) }

    /// 1–64 of `a-z A-Z 0-9 _ . -`.
    static func validateTokenName(_ name: String) throws {
        let u = Array(name.utf8)
        guard (1...64).contains(u.count),
              u.allSatisfy({ (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 46 || $0 == 45 }) else {
            throw EngineError.invalidArgument("a token name must be 1-64 characters of a-z, A-Z, 0-9, _, . and -")
        }
    }

    static func timeText(_ milliseconds: UInt64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
