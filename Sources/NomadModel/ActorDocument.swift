import NomadCrypto

/// The ActivityPub actor data of a channel at one location (DESIGN §6), for remote servers
/// (`GET /channel/{nick}` with `Accept: application/activity+json`) and for the paired server to
/// merge into its own actor (`GET /api/v1/channels/{nick}/actor`). Its nomadic properties come
/// from the channel's replicated `location` entries, so every clone tells the same story:
/// `id` plus `copiedTo` is the same set of live locations on every clone.
public struct ActorDocument: Sendable, Equatable, Encodable {
    /// The JSON-LD contexts: ActivityStreams, the Multikey vocabulary (FEP-521a), and the terms
    /// ActivityStreams leaves out, with their IRIs spelled out.
    public static let contexts: [String] = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/multikey/v1"]
    public static let extensionTerms: [(String, String)] = [
        ("alsoKnownAs", "https://www.w3.org/ns/activitystreams#alsoKnownAs"),
        ("movedTo", "https://www.w3.org/ns/activitystreams#movedTo"),
        ("copiedTo", "https://w3id.org/fep/7628#copiedTo"),
        ("assertionMethod", "https://w3id.org/security#assertionMethod"),
    ]

    /// A FEP-521a verification method: the channel's Ed25519 key.
    public struct Multikey: Sendable, Equatable, Encodable {
        public var id: String
        public var type = "Multikey"
        public var controller: String
        public var publicKeyMultibase: String

        public init(id: String, controller: String, ed25519PublicKey: [UInt8]) {
            self.id = id
            self.controller = controller
            publicKeyMultibase = Self.multibase(ed25519PublicKey: ed25519PublicKey)
        }

        /// `z` + base58btc(multicodec `ed25519-pub` 0xed 0x01 ‖ the 32 key bytes).
        public static func multibase(ed25519PublicKey key: [UInt8]) -> String { "z" + Base58.encode([0xED, 0x01] + key) }
    }

    public var id: String
    public var type = "Person"
    public var preferredUsername: String
    public var name: String
    public var url: String
    public var inbox: String
    public var outbox: String
    /// How `alsoKnownAs` names a portable_id (one the channel has, or a former one a rekey
    /// linked): `urn:nomadsync:portable_id:<portable_id>`.
    public static func iri(portableID: PortableID) -> String { "urn:nomadsync:portable_id:\(portableID.text)" }

    /// The other live locations' ids (FEP-7628 `copiedTo`), sorted.
    public var copiedTo: [String]
    /// The other live locations and the channel's linked ids, sorted.
    public var alsoKnownAs: [String]
    /// The location this channel moved to, once migrated away.
    public var movedTo: String?
    public var assertionMethod: [Multikey]

    public init(id: String, preferredUsername: String, name: String, copiedTo: [String], alsoKnownAs: [String],
                movedTo: String? = nil, publicKey: [UInt8]) {
        self.id = id
        self.preferredUsername = preferredUsername
        self.name = name
        url = id
        inbox = id + "/inbox"
        outbox = id + "/outbox"
        self.copiedTo = copiedTo
        self.alsoKnownAs = alsoKnownAs
        self.movedTo = movedTo
        assertionMethod = [Multikey(id: id + "#ed25519", controller: id, ed25519PublicKey: publicKey)]
    }

    enum CodingKeys: String, CodingKey {
        case context = "@context"
        case id, type, preferredUsername, name, url, inbox, outbox, copiedTo, alsoKnownAs, movedTo, assertionMethod
    }

    /// One context entry: a context URL, or the extension terms as an object.
    enum ContextEntry: Encodable {
        case url(String)
        case terms([(String, String)])

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .url(let url):
                var c = encoder.singleValueContainer()
                try c.encode(url)
            case .terms(let terms):
                var c = encoder.container(keyedBy: Key.self)
                for (term, iri) in terms { try c.encode(["@id": iri, "@type": "@id"], forKey: Key(stringValue: term)) }
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.contexts.map(ContextEntry.url) + [.terms(Self.extensionTerms)], forKey: .context)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(preferredUsername, forKey: .preferredUsername)
        try c.encode(name, forKey: .name)
        try c.encode(url, forKey: .url)
        try c.encode(inbox, forKey: .inbox)
        try c.encode(outbox, forKey: .outbox)
        try c.encode(copiedTo, forKey: .copiedTo)
        try c.encode(alsoKnownAs, forKey: .alsoKnownAs)
        try c.encodeIfPresent(movedTo, forKey: .movedTo)
        try c.encode(assertionMethod, forKey: .assertionMethod)
    }
}
