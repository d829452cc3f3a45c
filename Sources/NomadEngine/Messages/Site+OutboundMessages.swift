import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// One queued message ready to post to one site.
public struct MessagePost: Sendable {
    public var messageID: Int64
    public var channel: String
    public var type: MessageType
    public var location: Location
    /// The envelope, sealed to `location`'s site.
    public var body: [UInt8]
    /// Signs the request (`keyId = <keyURL>#ed25519`).
    public var keys: SigningKeyPair
    public var keyURL: String
}

/// Where a queued message stands for the delivery worker.
public enum MessageRoute: Sendable {
    /// Post to these sites (those not yet reached).
    case post([MessagePost])
    /// The target is a connection this site has no fresh locations for: fetch and verify its
    /// discovery document at `url`, hand it to `learnConnection`, and route again.
    case discover(url: String)
    /// Nowhere left to send it (its location retired, or the message was done); it was dropped.
    case done
}

extension Site {
    /// How long a message to a connection is retried before it is given up: 3 days.
    public static let messageLifetimeMilliseconds: UInt64 = 3 * 24 * 3_600_000
    /// A connection's locations learnt from a refresh or a discovery fetch are trusted this long.
    public static let connectionFreshMilliseconds: UInt64 = 24 * 3_600_000

    /// Queues a `type` message (no recipients) from `channel` to every other live location and
    /// every connection (`connection` state rows whose key is a portable_id; their body's
    /// `url`, when a string, is the connection's discovery URL), inside `tx`.
    /// With `connectionsOnly`, the locations are left out (a purge reaches them as an entry).
    func queueAnnouncement(_ type: MessageType, channel: ChannelRecord, site: SiteIdentity, rekey: SignedRekey? = nil,
                           connectionsOnly: Bool = false, in tx: StoreTransaction) throws {
        let signer = try rekey.map { try $0.verified().newPortableID } ?? channel.portableID
        var targets: [MessageTarget] = connectionsOnly ? [] : try Self.locations(channel: channel, in: tx)
            .filter { !$0.deleted && $0.siteID != site.siteID }.map { .location($0.siteID) }
        targets += try connections(of: channel, in: tx).map { .connection($0.id, url: $0.url) }
        let now = clock.nowMilliseconds()
        for target in targets {
            try tx.queueMessage(QueuedMessage(channel: channel.rowID, type: type, signer: signer, rekey: rekey, target: target,
                                              nextAt: now, expiresAt: now + Self.messageLifetimeMilliseconds))
        }
    }

    /// Queues a `purge` naming `connection` as its recipient (an unfriend), to that connection.
    func queueUnfriend(_ connection: PortableID, url: String?, channel: ChannelRecord, in tx: StoreTransaction) throws {
        let now = clock.nowMilliseconds()
        try tx.queueMessage(QueuedMessage(channel: channel.rowID, type: .purge, signer: channel.portableID, recipients: [connection],
                                          target: .connection(connection, url: url), nextAt: now,
                                          expiresAt: now + Self.messageLifetimeMilliseconds))
    }

    /// The channel's live connections: key a portable_id, and the body's `url` if any.
    func connections(of channel: ChannelRecord, in tx: StoreTransaction) throws -> [(id: PortableID, url: String?)] {
        try tx.stateRows(channel: channel.rowID, entity: "connection").compactMap { row in
            guard row.op == .put, let id = try? PortableID(validating: row.key) else { return nil }
            return (id, Self.connectionURL(row.body))
        }
    }

    /// The `url` of a connection body, when it is an http(s) URL.
    static func connectionURL(_ body: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let url = object["url"] as? String, url.utf8.count <= 2048,
              url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
        return url
    }

    /// The messages due now, oldest first.
    public func dueMessages(limit: Int = 200) throws -> [QueuedMessage] {
        let now = clock.nowMilliseconds()
        return try store.read { try $0.dueMessages(now: now, limit: limit) }
    }

    /// Every message queued for a channel (status, tests).
    public func queuedMessages(nickname: String) throws -> [QueuedMessage] {
        let channel = try record(nickname: nickname)
        return try store.read { try $0.queuedMessages(channel: channel.rowID) }
    }

    /// Where a queued message goes next, with each post sealed and signed.
    public func route(_ message: QueuedMessage) throws -> MessageRoute {
        let site = try identity()
        let now = clock.nowMilliseconds()
        let (channel, locations): (ChannelRecord?, [Location]?) = try store.read { tx in
            guard let channel = try tx.channel(rowID: message.channel), !channel.isWiped else { return (nil, []) }
            switch message.target {
            case .location(let siteID):
                return (channel, try Self.locations(channel: channel, in: tx).filter { $0.siteID == siteID && !$0.deleted })
            case .connection(let id, _):
                guard let remote = try tx.remoteChannel(id), let at = remote.refreshedAt, now < at + Self.connectionFreshMilliseconds,
                      remote.purgedAt == nil else { return (channel, nil) }
                return (channel, remote.locations.filter { !$0.deleted && !message.delivered.contains($0.siteID) })
            }
        }
        guard let channel else {
            try finish(message)
            return .done
        }
        guard let locations else {
            if case .connection(_, let url?) = message.target { return .discover(url: url) }
            try failed(message, reason: "no known location for this connection (its connection entry has no url)", backoff: Backoff())
            return .post([])
        }
        if locations.isEmpty {
            try finish(message)
            return .done
        }
        let keys = try self.keys(of: channel, named: message.signer)
        let payload = ChannelMessage(channel: message.signer, from: site.siteID, guid: channel.guid, publicKey: keys.publicKey,
                                     rekey: message.rekey)
        let plain = Array(try WireJSON.encode(payload).utf8)
        return .post(try locations.map { location in
            let sealKey = try Base64URL.decode(location.sealkey, what: "sealkey of \(location.siteID.text)", length: SealKeyPair.publicKeyLength)
            let binding = Envelope.binding(type: message.type, sender: message.signer, siteID: site.siteID, recipientSiteID: location.siteID)
            let envelope = Envelope(type: message.type, sender: message.signer, siteID: site.siteID, recipients: message.recipients,
                                    data: try SealedPayload.seal(plain, to: sealKey, additionalData: binding, random: random))
            return MessagePost(messageID: message.id, channel: channel.nickname, type: message.type, location: location,
                               body: envelope.wireJSON, keys: keys,
                               keyURL: "\(site.url)/channel/\(channel.nickname)")
        })
    }

    /// Stores a connection's verified discovery document (fetched for a queued message).
    public func learnConnection(_ document: VerifiedDiscovery, for id: PortableID) throws {
        guard document.portableID == id else {
            throw EngineError.invalidArgument("the discovery document is of \(document.portableID.text), not of the connection \(id.text)")
        }
        let now = clock.nowMilliseconds()
        try store.write { tx in
            var remote = try tx.remoteChannel(id) ?? RemoteChannel(portableID: id, guid: document.guid, publicKey: document.publicKey)
            remote.locations = document.locations
            remote.refreshedAt = now
            try tx.saveRemoteChannel(remote)
        }
    }

    /// Records the answers to one round of posts: sites that acknowledged (or refused for
    /// good, a 4xx) are done; the message leaves the queue once no site is left, else it is
    /// retried after the backoff, or dropped once past its lifetime.
    public func recordPosts(_ message: QueuedMessage, done: [SiteID], failures: [String], backoff: Backoff) throws {
        guard !failures.isEmpty else { return try finish(message) }
        var message = message
        message.delivered += done.filter { !message.delivered.contains($0) }
        try failed(message, reason: failures.joined(separator: "; "), backoff: backoff)
    }

    func finish(_ message: QueuedMessage) throws {
        try store.write { tx in
            try tx.deleteMessage(id: message.id)
            try wipeIfDelivered(message.channel, in: tx)
        }
    }

    func failed(_ message: QueuedMessage, reason: String, backoff: Backoff) throws {
        let now = clock.nowMilliseconds()
        if now >= message.expiresAt { return try finish(message) }
        let attempts = message.attempts + 1
        try store.write { tx in
            try tx.rescheduleMessage(id: message.id, delivered: message.delivered, attempts: attempts,
                                     nextAt: now + backoff.delay(afterAttempts: attempts, random: random), error: String(reason.prefix(500)))
        }
    }
}
