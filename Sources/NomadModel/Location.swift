import NomadCrypto

/// One clone of a channel at one site; the body of a `location` entry (key = the site_id).
/// Field names follow Zot6's `locations[]`, plus `writer` and `fallbacks`.
public struct Location: Sendable, Equatable, Codable {
    public var host: String
    /// `nick@host`.
    public var address: String
    /// The channel's URL at this site (`{url}/channel/{nick}`).
    public var idURL: String
    public var primary: Bool
    /// The site's base URL.
    public var url: String
    /// The channel key's signature over `url`: `ed25519.<base64url>`.
    public var urlSig: String
    public var siteID: SiteID
    /// Where packets are posted (`{url}/zot`).
    public var callback: String
    /// The site's Ed25519 public key (base64url).
    public var sitekey: String
    /// The site's X25519 public key (base64url) that sealed payloads are addressed to.
    public var sealkey: String
    public var deleted: Bool
    /// The writer id (origin) of this location.
    public var writer: OriginID
    /// Other base URLs of the same site, in the order they were added.
    public var fallbacks: [String]

    public init(host: String, address: String, idURL: String, primary: Bool, url: String, urlSig: String,
                siteID: SiteID, callback: String, sitekey: String, sealkey: String, deleted: Bool,
                writer: OriginID, fallbacks: [String]) {
        self.host = host
        self.address = address
        self.idURL = idURL
        self.primary = primary
        self.url = url
        self.urlSig = urlSig
        self.siteID = siteID
        self.callback = callback
        self.sitekey = sitekey
        self.sealkey = sealkey
        self.deleted = deleted
        self.writer = writer
        self.fallbacks = fallbacks
    }

    enum CodingKeys: String, CodingKey {
        case host, address, primary, url, callback, sitekey, sealkey, deleted, writer, fallbacks
        case idURL = "id_url"
        case urlSig = "url_sig"
        case siteID = "site_id"
    }

    /// Checks that `url_sig` is the channel key's signature over `url`.
    public func verifyURLSignature(channelPublicKey: [UInt8]) throws {
        try SigningKeyPair.verify(signatureText: urlSig, over: Array(url.utf8), publicKey: channelPublicKey)
    }
}
