/// The plaintext inside an export file: the channel identity (private key included) and its
/// whole log. It only ever exists in memory; on disk it is inside a `PassphraseContainer`.
public struct ChannelExportDocument: Sendable, Codable {
    public static let format = "nomadsync-channel-export/1"

    public struct Identity: Sendable, Codable {
        public var nickname: String
        public var name: String
        public var guid: String
        public var portableID: PortableID
        public var publicKey: String
        /// The Ed25519 seed, base64url.
        public var secretSeed: String

        public init(nickname: String, name: String, guid: String, portableID: PortableID, publicKey: String, secretSeed: String) {
            self.nickname = nickname
            self.name = name
            self.guid = guid
            self.portableID = portableID
            self.publicKey = publicKey
            self.secretSeed = secretSeed
        }

        enum CodingKeys: String, CodingKey {
            case nickname, name, guid
            case portableID = "portable_id"
            case publicKey = "public_key"
            case secretSeed = "secret_seed"
        }
    }

    /// A key the channel had before a rekey (its seed opens the next `key` entry). A clone made
    /// from the export needs them to follow a rekey that wins over the one it was made on.
    public struct FormerKey: Sendable, Codable {
        public var portableID: PortableID
        public var publicKey: String
        public var secretSeed: String
        public var valid: Bool

        public init(portableID: PortableID, publicKey: String, secretSeed: String, valid: Bool) {
            self.portableID = portableID
            self.publicKey = publicKey
            self.secretSeed = secretSeed
            self.valid = valid
        }

        enum CodingKeys: String, CodingKey {
            case valid
            case portableID = "portable_id"
            case publicKey = "public_key"
            case secretSeed = "secret_seed"
        }
    }

    public var format: String
    public var exportedAt: String
    public var fromSite: SiteID
    public var channel: Identity
    public var entries: [ChangeEntry]
    /// Absent when the channel was never rekeyed.
    public var formerKeys: [FormerKey]?
    /// The blobs whose bytes follow the document in the file, in this order (absent: none).
    public var blobs: [FileReference]?

    public init(format: String = ChannelExportDocument.format, exportedAt: String, fromSite: SiteID, channel: Identity,
                entries: [ChangeEntry], formerKeys: [FormerKey]? = nil) {
        self.formerKeys = formerKeys
        self.format = format
        self.exportedAt = exportedAt
        self.fromSite = fromSite
        self.channel = channel
        self.entries = entries
    }

    enum CodingKeys: String, CodingKey {
        case format, channel, entries
        case exportedAt = "exported_at"
        case fromSite = "from_site"
        case formerKeys = "former_keys"
        case blobs
    }
}

