import NomadCrypto

/// `GET /channel/{nick}` with `Accept: application/x-zot+json` (DESIGN §6): who the channel is,
/// its signed list of locations, and the site that answered.
public struct DiscoveryDocument: Sendable, Equatable, Codable {
    /// The channel guid.
    public var id: String
    /// The channel key's signature over the guid.
    public var idSig: String
    public var publicKey: String
    public var portableID: PortableID
    public var name: String
    public var nickname: String
    /// Every location, deleted ones included (marked), each with its `url_sig`.
    public var locations: [Location]
    public var site: SiteInfo

    public init(id: String, idSig: String, publicKey: String, portableID: PortableID, name: String, nickname: String,
                locations: [Location], site: SiteInfo) {
        self.id = id
        self.idSig = idSig
        self.publicKey = publicKey
        self.portableID = portableID
        self.name = name
        self.nickname = nickname
        self.locations = locations
        self.site = site
    }

    enum CodingKeys: String, CodingKey {
        case id, name, nickname, locations, site
        case idSig = "id_sig"
        case publicKey = "public_key"
        case portableID = "portable_id"
    }
}

/// The answering site inside a discovery document; `site_sig` is the site key's signature over `url`.
public struct SiteInfo: Sendable, Equatable, Codable {
    public var url: String
    public var siteID: SiteID
    public var siteSig: String
    public var sitekey: String
    public var sealkey: String
    public var encryption: [String]
    public var version: String

    public init(url: String, siteID: SiteID, siteSig: String, sitekey: String, sealkey: String,
                encryption: [String] = [SealedPayload.algorithm], version: String = Envelope.currentVersion) {
        self.url = url
        self.siteID = siteID
        self.siteSig = siteSig
        self.sitekey = sitekey
        self.sealkey = sealkey
        self.encryption = encryption
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case url, sitekey, sealkey, encryption, version
        case siteID = "site_id"
        case siteSig = "site_sig"
    }
}

/// The answer to `GET /.well-known/webfinger?resource=acct:nick@host` (RFC 7033), with every
/// live location's channel URL in `aliases`.
public struct WebFingerDocument: Sendable, Equatable, Codable {
    public struct Link: Sendable, Equatable, Codable {
        public var rel: String
        public var type: String
        public var href: String

        public init(rel: String, type: String, href: String) {
            self.rel = rel
            self.type = type
            self.href = href
        }
    }

    public var subject: String
    public var aliases: [String]
    public var links: [Link]

    public init(subject: String, aliases: [String], links: [Link]) {
        self.subject = subject
        self.aliases = aliases
        self.links = links
    }
}

/// The body of every refusal: `{"success":false,"message":"…"}`.
public struct ErrorBody: Sendable, Equatable, Codable {
    public var success: Bool
    public var message: String
    /// A machine-readable reason where the sender must act on it: `fork` (with `origin` and
    /// `seq`: the sender reused a sequence number of that writer and must take a new writer).
    public var code: String?
    public var origin: String?
    public var seq: UInt64?
    /// With `rekeyed`: the channel's `key` entries, so a clone still on a replaced key can
    /// switch (docs/PROTOCOL.md §8).
    public var keys: [ChangeEntry]?

    public init(message: String, code: String? = nil, origin: String? = nil, seq: UInt64? = nil, keys: [ChangeEntry]? = nil) {
        self.keys = keys
        self.success = false
        self.message = message
        self.code = code
        self.origin = origin
        self.seq = seq
    }
}

/// The answer to an accepted `POST /zot`: `{"success":true,"delivery_report":[…]}`.
public struct DeliveryAnswer: Sendable, Equatable, Codable {
    public var success: Bool
    public var deliveryReport: [DeliveryReport]

    public init(success: Bool = true, deliveryReport: [DeliveryReport]) {
        self.success = success
        self.deliveryReport = deliveryReport
    }

    enum CodingKeys: String, CodingKey {
        case success
        case deliveryReport = "delivery_report"
    }
}

/// What a discovery document proves once checked (`DiscoveryDocument.verified()`).
public struct VerifiedDiscovery: Sendable, Equatable {
    public var portableID: PortableID
    public var guid: String
    public var publicKey: [UInt8]
    /// The locations whose signatures verify with the channel key (deleted ones included,
    /// marked); any other is left out.
    public var locations: [Location]

    /// The location that signs requests as `keyID` (`<id_url>#ed25519`) from `siteID` — live,
    /// or deleted (a site that retired or migrated away announces it).
    public func location(signingAs keyID: String, siteID: SiteID) -> Location? {
        locations.first { $0.siteID == siteID && "\($0.idURL)#ed25519" == keyID }
    }
}

extension DiscoveryDocument {
    /// Checks the document whole: `portable_id` derives from the guid and `public_key`,
    /// `id_sig` is the key's signature over the guid, and each location's `url_sig` and
    /// `location_sig` verify with the key and its `site_id` derives from `url` and `sitekey`.
    /// Locations that fail are dropped; no verified live location at all is an error.
    public func verified() throws -> VerifiedDiscovery {
        let key = try Base64URL.decode(publicKey, what: "public_key", length: SigningKeyPair.publicKeyLength)
        guard id.utf8.count <= 256, PortableID(guid: id, publicKey: key) == portableID else {
            throw ModelError.invalidField("portable_id", reason: "is not derived from the guid and the public key")
        }
        do { try SigningKeyPair.verify(signatureText: idSig, over: Array(id.utf8), publicKey: key) } catch {
            throw ModelError.invalidField("id_sig", reason: "does not verify with the channel key")
        }
        let good = locations.prefix(1000).filter { (try? $0.verify(channelPublicKey: key)) != nil }
        guard good.contains(where: { !$0.deleted }) else {
            throw ModelError.invalidField("locations", reason: "no live location is signed by the channel key")
        }
        return VerifiedDiscovery(portableID: portableID, guid: id, publicKey: key, locations: Array(good))
    }
}
