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
    /// The channel key's signature over `signingBytes` (every other field):
    /// `ed25519.<base64url>`. Without it a copied genuine `url_sig` could carry an attacker's keys.
    public var locationSig: String
    /// Entry ids this location's site took back when it healed a reused writer (docs/PROTOCOL.md
    /// §3.2): every clone drops them, and its later entries of that writer, and fetches the
    /// writer's true entries again. Absent when empty.
    public var voided: [String]?

    public init(host: String, address: String, idURL: String, primary: Bool, url: String, urlSig: String,
                siteID: SiteID, callback: String, sitekey: String, sealkey: String, deleted: Bool,
                writer: OriginID, fallbacks: [String], locationSig: String = "", voided: [String]? = nil) {
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
        self.locationSig = locationSig
        self.voided = voided
    }

    enum CodingKeys: String, CodingKey {
        case host, address, primary, url, callback, sitekey, sealkey, deleted, writer, fallbacks, voided
        case idURL = "id_url"
        case urlSig = "url_sig"
        case locationSig = "location_sig"
        case siteID = "site_id"
    }

    /// The main URL, then the fallbacks in the order they were added (DESIGN §5).
    public var baseURLs: [String] { [url] + fallbacks.filter { $0 != url } }

    /// Checks that `url_sig` is the channel key's signature over `url`.
    public func verifyURLSignature(channelPublicKey: [UInt8]) throws {
        try SigningKeyPair.verify(signatureText: urlSig, over: Array(url.utf8), publicKey: channelPublicKey)
    }

    /// The bytes `location_sig` signs: the domain tag `nomadsync/location/1`, then every other
    /// field in this order — host, address, id_url, primary, url, url_sig, site_id, callback,
    /// sitekey, sealkey, deleted, writer, fallbacks, voided — each text as u32 big-endian length ‖
    /// UTF-8, each bool as one byte (0 or 1), `fallbacks` and `voided` (absent = empty) each as a
    /// u32 big-endian count then each item as text.
    public var signingBytes: [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/location/1")
        w.text(host)
        w.text(address)
        w.text(idURL)
        w.byte(primary ? 1 : 0)
        w.text(url)
        w.text(urlSig)
        w.text(siteID.text)
        w.text(callback)
        w.text(sitekey)
        w.text(sealkey)
        w.byte(deleted ? 1 : 0)
        w.text(writer.text)
        w.u32(UInt32(clamping: fallbacks.count))
        for fallback in fallbacks { w.text(fallback) }
        let void = voided ?? []
        w.u32(UInt32(clamping: void.count))
        for id in void { w.text(id) }
        return w.bytes
    }

    /// Signs `url` and the whole location with the channel key.
    public mutating func sign(with channelKeys: SigningKeyPair) {
        urlSig = channelKeys.signatureText(over: Array(url.utf8))
        locationSig = channelKeys.signatureText(over: signingBytes)
    }

    /// Checks everything that makes a location trustworthy: `url_sig` and `location_sig` verify
    /// with the channel key, and `site_id` derives from `url` and `sitekey`.
    public func verify(channelPublicKey: [UInt8]) throws {
        do {
            try verifyURLSignature(channelPublicKey: channelPublicKey)
            try SigningKeyPair.verify(signatureText: locationSig, over: signingBytes, publicKey: channelPublicKey)
        } catch {
            throw ModelError.invalidField("location", reason: "url_sig or location_sig does not verify with the channel key")
        }
        guard let key = try? Base64URL.decode(sitekey, what: "sitekey", length: SigningKeyPair.publicKeyLength),
              SiteID(url: url, publicKey: key) == siteID else {
            throw ModelError.invalidField("location.site_id", reason: "is not derived from url and sitekey")
        }
    }

    /// As `verify(channelPublicKey:)`, accepting a signature by any of `keys`: the channel's
    /// current key or one it had before a rekey (a clone re-signs its location when it switches).
    public func verify(anyOf keys: [[UInt8]]) throws {
        var failure: any Error = ModelError.invalidField("location", reason: "no channel key to verify it with")
        for key in keys {
            do { return try verify(channelPublicKey: key) } catch { failure = error }
        }
        throw failure
    }
}
