import Foundation
import GRDB
import NomadModel

/// An `activity`, `response` or targeted `refresh` kept for the paired server (table
/// `inbound_message`).
public struct InboundMessage: Sendable, Equatable, Codable {
    /// Its place in this site's arrival order (a cursor for the changes feed).
    public var position: Int64
    public var messageID: String
    public var type: String
    public var sender: PortableID
    public var siteID: SiteID
    /// The activity, exact JSON text (`{}` for a refresh).
    public var body: String
    public var receivedAt: UInt64

    enum CodingKeys: String, CodingKey {
        case position, type, sender, body
        case messageID = "message_id"
        case siteID = "site_id"
        case receivedAt = "received_at"
    }
}

/// A channel met on the wire — a connection of a channel hosted here (table `remote_channel`):
/// its key, the locations its last verified `refresh` listed, and what became of it.
public struct RemoteChannel: Sendable, Equatable {
    public var portableID: PortableID
    public var guid: String
    public var publicKey: [UInt8]
    /// Every location of its last verified discovery document (each signature checked).
    public var locations: [Location]
    public var refreshedAt: UInt64?
    /// It deleted itself everywhere (`purge` without recipients).
    public var purgedAt: UInt64?
    /// A rekey with `update:true` replaced this id by another one.
    public var replacedBy: PortableID?
    /// A rekey with `update:false` linked this id to another one; both stay valid.
    public var linkedTo: PortableID?

    public init(portableID: PortableID, guid: String, publicKey: [UInt8], locations: [Location] = [], refreshedAt: UInt64? = nil,
                purgedAt: UInt64? = nil, replacedBy: PortableID? = nil, linkedTo: PortableID? = nil) {
        self.portableID = portableID
        self.guid = guid
        self.publicKey = publicKey
        self.locations = locations
        self.refreshedAt = refreshedAt
        self.purgedAt = purgedAt
        self.replacedBy = replacedBy
        self.linkedTo = linkedTo
    }
}

/// Where a queued message goes: one location of the channel itself, or every live location
/// of a connection (found through its discovery URL when this site has not met it yet).
public enum MessageTarget: Sendable, Equatable {
    case location(SiteID)
    case connection(PortableID, url: String?)
}

/// A `rekey`, `refresh` or `purge` waiting to go out (table `message_outbox`).
public struct QueuedMessage: Sendable, Equatable {
    public var id: Int64
    public var channel: Int64
    public var type: MessageType
    /// The channel id whose key signs it (a rekey is signed by its new key).
    public var signer: PortableID
    public var recipients: [PortableID]
    public var rekey: SignedRekey?
    public var target: MessageTarget
    /// Sites of a connection that already acknowledged it.
    public var delivered: [SiteID]
    public var attempts: Int
    public var nextAt: UInt64
    public var expiresAt: UInt64
    public var lastError: String?

    public init(id: Int64 = 0, channel: Int64, type: MessageType, signer: PortableID, recipients: [PortableID] = [],
                rekey: SignedRekey? = nil, target: MessageTarget, delivered: [SiteID] = [], attempts: Int = 0, nextAt: UInt64,
                expiresAt: UInt64, lastError: String? = nil) {
        self.id = id
        self.channel = channel
        self.type = type
        self.signer = signer
        self.recipients = recipients
        self.rekey = rekey
        self.target = target
        self.delivered = delivered
        self.attempts = attempts
        self.nextAt = nextAt
        self.expiresAt = expiresAt
        self.lastError = lastError
    }
}

extension StoreTransaction {
    // MARK: inbound_message

    /// Keeps a message for a channel; false when one with the same id is already kept.
    public func insertInbound(channel: Int64, messageID: String, type: String, sender: PortableID, siteID: SiteID, body: String,
                              receivedAt: UInt64) throws -> Bool {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO inbound_message (channel, message_id, type, sender, site_id, body, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [channel, messageID, type, sender.text, siteID.text, body, Int64(clamping: receivedAt)])
        return db.changesCount > 0
    }

    /// The messages kept for a channel after `position`, oldest first.
    public func inbound(channel: Int64, after position: Int64 = 0, limit: Int = 1000) throws -> [InboundMessage] {
        try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT position, message_id, type, sender, site_id, body, received_at FROM inbound_message
            WHERE channel = ? AND position > ? ORDER BY position LIMIT ?
            """), arguments: [channel, position, limit]).map { row in
            InboundMessage(position: row["position"], messageID: row["message_id"], type: row["type"],
                           sender: try PortableID(validating: row["sender"]), siteID: try SiteID(validating: row["site_id"]),
                           body: row["body"], receivedAt: UInt64(clamping: row["received_at"] as Int64))
        }
    }

    // MARK: remote_channel

    public func remoteChannel(_ portableID: PortableID) throws -> RemoteChannel? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM remote_channel WHERE portable_id = ?"),
                                         arguments: [portableID.text]) else { return nil }
        let locationsText: String = row["locations"]
        return RemoteChannel(
            portableID: portableID, guid: row["guid"], publicKey: Array(row["public_key"] as Data),
            locations: (try? WireJSON.decode([Location].self, from: locationsText, what: "stored locations")) ?? [],
            refreshedAt: (row["refreshed_at"] as Int64?).map { UInt64(clamping: $0) },
            purgedAt: (row["purged_at"] as Int64?).map { UInt64(clamping: $0) },
            replacedBy: try (row["replaced_by"] as String?).map(PortableID.init(validating:)),
            linkedTo: try (row["linked_to"] as String?).map(PortableID.init(validating:)))
    }

    /// Inserts or replaces what this site knows of a remote channel.
    public func saveRemoteChannel(_ remote: RemoteChannel) throws {
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO remote_channel (portable_id, guid, public_key, locations, refreshed_at, purged_at, replaced_by, linked_to)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                remote.portableID.text, remote.guid, Data(remote.publicKey), try WireJSON.encode(remote.locations),
                remote.refreshedAt.map { Int64(clamping: $0) }, remote.purgedAt.map { Int64(clamping: $0) },
                remote.replacedBy?.text, remote.linkedTo?.text,
            ])
    }

    // MARK: message_outbox

    public func queueMessage(_ message: QueuedMessage) throws {
        let (site, channel, url): (String?, String?, String?) = switch message.target {
        case .location(let siteID): (siteID.text, nil, nil)
        case .connection(let id, let url): (nil, id.text, url)
        }
        try db.cachedStatement(sql: """
            INSERT INTO message_outbox (channel, type, signer, recipients, rekey, target_site, target_channel, target_url,
                                        delivered, attempts, next_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', 0, ?, ?)
            """).execute(arguments: [
                message.channel, message.type.rawValue, message.signer.text, try WireJSON.encode(message.recipients.map(\.text)),
                try message.rekey.map { try WireJSON.encodeCanonical($0) }, site, channel, url,
                Int64(clamping: message.nextAt), Int64(clamping: message.expiresAt),
            ])
    }

    func queuedMessage(from row: Row) throws -> QueuedMessage {
        let target: MessageTarget
        if let site = row["target_site"] as String? {
            target = .location(try SiteID(validating: site))
        } else {
            target = .connection(try PortableID(validating: row["target_channel"] as String), url: row["target_url"])
        }
        return QueuedMessage(
            id: row["id"], channel: row["channel"],
            type: try MessageType(rawValue: row["type"] as String).orThrow(StoreError.database("message_outbox holds an unknown message type")),
            signer: try PortableID(validating: row["signer"]),
            recipients: try WireJSON.decode([String].self, from: row["recipients"] as String, what: "recipients").map(PortableID.init(validating:)),
            rekey: try (row["rekey"] as String?).map { try WireJSON.decode(SignedRekey.self, from: $0, what: "queued rekey") },
            target: target,
            delivered: try WireJSON.decode([String].self, from: row["delivered"] as String, what: "delivered").map(SiteID.init(validating:)),
            attempts: row["attempts"], nextAt: UInt64(clamping: row["next_at"] as Int64),
            expiresAt: UInt64(clamping: row["expires_at"] as Int64), lastError: row["last_error"])
    }

    /// Messages due by `now`, oldest first.
    public func dueMessages(now: UInt64, limit: Int = 200) throws -> [QueuedMessage] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM message_outbox WHERE next_at <= ? ORDER BY id LIMIT ?"),
                         arguments: [Int64(clamping: now), limit]).map(queuedMessage(from:))
    }

    /// The earliest time after `now` that a message, a webhook or a blob fetch in backoff is
    /// due again (nil: none is waiting).
    public func nextRetry(after now: UInt64) throws -> UInt64? {
        let bound = Int64(clamping: now)
        let times = try [
            "SELECT MIN(next_at) FROM message_outbox WHERE next_at > ?",
            "SELECT MIN(next_at) FROM webhook WHERE next_at > ?",
            "SELECT MIN(next_at) FROM blob_fetch WHERE next_at > ?",
        ].compactMap { sql in try Int64.fetchOne(try db.cachedStatement(sql: sql), arguments: [bound]) }
        return times.min().flatMap { UInt64(exactly: $0) }
    }

    /// Every queued message of a channel (status and tests).
    public func queuedMessages(channel: Int64) throws -> [QueuedMessage] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM message_outbox WHERE channel = ? ORDER BY id"),
                         arguments: [channel]).map(queuedMessage(from:))
    }

    public func queuedMessage(id: Int64) throws -> QueuedMessage? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM message_outbox WHERE id = ?"), arguments: [id]).map(queuedMessage(from:))
    }

    public func deleteMessages(channel: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM message_outbox WHERE channel = ?").execute(arguments: [channel])
    }

    public func deleteMessage(id: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM message_outbox WHERE id = ?").execute(arguments: [id])
    }

    /// Records a partial delivery or a failure and when to try again.
    public func rescheduleMessage(id: Int64, delivered: [SiteID], attempts: Int, nextAt: UInt64, error: String?) throws {
        try db.cachedStatement(sql: "UPDATE message_outbox SET delivered = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?")
            .execute(arguments: [try WireJSON.encode(delivered.map(\.text)), attempts, Int64(clamping: nextAt), error, id])
    }

    public func messageCount(channel: Int64) throws -> Int {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM message_outbox WHERE channel = ?"), arguments: [channel]) ?? 0
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}

/// A blob this site failed to fetch, and when to try again (table `blob_fetch`).
public struct BlobFetchRecord: Sendable, Equatable {
    public var hex: String
    public var attempts: Int
    public var nextAt: UInt64
    public var lastError: String?

    public init(hex: String, attempts: Int, nextAt: UInt64, lastError: String?) {
        self.hex = hex
        self.attempts = attempts
        self.nextAt = nextAt
        self.lastError = lastError
    }
}

extension StoreTransaction {
    public func blobFetch(_ hex: String) throws -> BlobFetchRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM blob_fetch WHERE hex = ?"), arguments: [hex]).map { row in
            BlobFetchRecord(hex: row["hex"], attempts: row["attempts"], nextAt: UInt64(clamping: row["next_at"] as Int64), lastError: row["last_error"])
        }
    }

    public func putBlobFetch(_ record: BlobFetchRecord) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO blob_fetch (hex, attempts, next_at, last_error) VALUES (?, ?, ?, ?)")
            .execute(arguments: [record.hex, record.attempts, Int64(clamping: record.nextAt), record.lastError])
    }

    public func deleteBlobFetch(_ hex: String) throws {
        try db.cachedStatement(sql: "DELETE FROM blob_fetch WHERE hex = ?").execute(arguments: [hex])
    }
}
