import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A webhook as `webhook list` and the admin API show it (the key never).
public struct Webhook: Sendable, Equatable, Codable {
    public var id: Int64
    public var url: String
    /// The channel it follows; nil for every channel.
    public var channel: String?
    public var local: Bool
    /// Changes not delivered yet.
    public var backlog: Int
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, url, channel, local, backlog
        case lastError = "last_error"
    }

    /// Every field always, `null` when empty (as status does).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(url, forKey: .url)
        try c.encode(channel, forKey: .channel)
        try c.encode(local, forKey: .local)
        try c.encode(backlog, forKey: .backlog)
        try c.encode(lastError, forKey: .lastError)
    }
}

/// A webhook just added: the only time its HMAC key is shown.
public struct NewWebhook: Sendable, Equatable, Codable {
    public var id: Int64
    public var url: String
    /// base64url of the 32-byte HMAC-SHA-256 key.
    public var secret: String
}

/// One POST a webhook is due for: its body (a feed page, exact bytes) and signature.
public struct WebhookPost: Sendable {
    public var webhook: Int64
    public var url: String
    public var body: [UInt8]
    /// `sha256=<hex HMAC-SHA-256(key, body)>`, the `X-Nomadsync-Signature` header.
    public var signature: String
    /// Where the webhook's cursor moves once the post is acknowledged.
    public var cursor: Int64
}

extension Site {
    /// Adds a webhook that pushes the feed of `nickname` (every channel when nil), from now on,
    /// to `url` (`nomadsync webhook add`). Returns its HMAC key once.
    public func addWebhook(url: String, nickname: String?, includeLocal: Bool = false) throws -> NewWebhook {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2048, URL(string: url) != nil else {
            throw EngineError.invalidArgument("'\(url.prefix(200))' is not an http(s) URL")
        }
        let channel = try nickname.map { try record(nickname: $0) }
        let secret = SecureBytes(random.bytes(32))
        let sealed = try store.sealSecret(secret, random: random)
        let now = clock.nowMilliseconds()
        let id = try store.write { tx in
            try tx.insertWebhook(WebhookRecord(url: url, channel: channel?.rowID, includeLocal: includeLocal, secretSealed: sealed,
                                               cursor: try tx.lastPosition(channel: nil)), now: now)
        }
        return NewWebhook(id: id, url: url, secret: Base64URL.encode(secret.revealedCopy()))
    }

    public func webhooks() throws -> [Webhook] {
        try store.read { tx in
            try tx.webhooks().map { hook in
                Webhook(id: hook.id, url: hook.url, channel: try hook.channel.flatMap { try tx.channel(rowID: $0)?.nickname }, local: hook.includeLocal,
                        backlog: try tx.feedCount(channel: hook.channel, after: hook.cursor, includeLocal: hook.includeLocal),
                        lastError: hook.lastError)
            }
        }
    }

    @discardableResult
    public func removeWebhook(id: Int64) throws -> Bool { try store.write { try $0.deleteWebhook(id: id) } }

    /// The posts due now: for each webhook past its backoff with changes after its cursor, the
    /// next page (at most `limit` changes) — in order, one page per webhook at a time.
    public func dueWebhookPosts(limit: Int = 100) throws -> [WebhookPost] {
        let now = clock.nowMilliseconds()
        let hooks = try store.read { try $0.webhooks() }.filter { $0.nextAt <= now }
        return try hooks.compactMap { hook in
            let nickname = try hook.channel.flatMap { id in try store.read { try $0.channel(rowID: id)?.nickname } }
            if hook.channel != nil && nickname == nil { return nil }
            let page = try changes(nickname: nickname, after: String(hook.cursor), limit: limit, includeLocal: hook.includeLocal)
            guard !page.changes.isEmpty, let cursor = Int64(page.cursor) else { return nil }
            let body = Array(try WireJSON.encode(page).utf8)
            let key = try store.openSecret(hook.secretSealed, what: "webhook key")
            return WebhookPost(webhook: hook.id, url: hook.url, body: body,
                               signature: "sha256=" + Hex.encode(HMACSHA256.authenticate(body, key: key)), cursor: cursor)
        }
    }

    /// Records a post's answer: acknowledged moves the cursor on; anything else keeps it and
    /// tries again after the backoff. Nothing is ever skipped.
    public func webhookAnswered(_ post: WebhookPost, error: String?, backoff: Backoff = Backoff()) throws {
        let now = clock.nowMilliseconds()
        try store.write { tx in
            guard let hook = try tx.webhooks().first(where: { $0.id == post.webhook }) else { return }
            if let error {
                let attempts = hook.attempts + 1
                try tx.updateWebhook(id: hook.id, cursor: hook.cursor, attempts: attempts,
                                     nextAt: now + backoff.delay(afterAttempts: attempts, random: random), lastError: String(error.prefix(500)))
            } else {
                try tx.updateWebhook(id: hook.id, cursor: max(hook.cursor, post.cursor), attempts: 0, nextAt: 0, lastError: nil)
            }
        }
    }
}
