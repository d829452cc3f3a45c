/// What another site needs to address this one: base URL, `site_id`, and the public keys.
/// Printed by `nomadsync site show --json`.
public struct SiteCard: Sendable, Equatable, Codable {
    public var url: String
    public var siteID: SiteID
    /// Ed25519 public key, base64url.
    public var sitekey: String
    /// X25519 public key, base64url.
    public var sealkey: String
    public var encryption: [String]
    public var version: String

    public init(url: String, siteID: SiteID, sitekey: String, sealkey: String,
                encryption: [String] = [SealedPayload.algorithm], version: String = Envelope.currentVersion) {
        self.url = url
        self.siteID = siteID
        self.sitekey = sitekey
        self.sealkey = sealkey
        self.encryption = encryption
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case url, sitekey, sealkey, encryption, version
        case siteID = "site_id"
    }
}

/// Names people type: channel nicknames and site URLs, checked before anything is created.
public enum Names {
    /// 1–64 of `a-z 0-9 _ .`, starting with a letter or digit.
    public static func validateNickname(_ nick: String) throws {
        let u = Array(nick.utf8)
        guard (1...64).contains(u.count),
              u.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 46 }),
              let first = u.first, (97...122).contains(first) || (48...57).contains(first) else {
            throw ModelError.invalidField("nickname", reason: "'\(nick.prefix(64))' must be 1-64 characters of a-z, 0-9, _ and ., starting with a letter or digit")
        }
    }

    /// An http(s) base URL with a host and no query or fragment; a trailing slash is dropped.
    public static func normaliseSiteURL(_ text: String) throws -> String {
        var url = text.trimmingSuffix("/")
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw ModelError.invalidField("url", reason: "'\(text.prefix(200))' must start with https:// or http://")
        }
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        let host = rest.prefix(while: { $0 != "/" })
        guard !host.isEmpty, !url.contains("?"), !url.contains("#"), !url.contains(" ") else {
            throw ModelError.invalidField("url", reason: "'\(text.prefix(200))' must be a base URL with a host and no query, fragment or spaces")
        }
        if lower.hasPrefix("https://") { url = "https://" + url.dropFirst(8) } else { url = "http://" + url.dropFirst(7) }
        return url
    }

    /// `host[:port]` of a base URL.
    public static func host(of url: String) -> String {
        String(url.drop(while: { $0 != "/" }).dropFirst(2).prefix(while: { $0 != "/" }))
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}
