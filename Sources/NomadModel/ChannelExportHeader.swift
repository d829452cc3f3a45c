/// The first line of an export file's plaintext (format 2, docs/PROTOCOL.md §6): the channel's
/// identity (private key included), the blobs whose bytes follow this line and how many entry
/// lines follow them. Unlike `ChannelExportDocument` (format 1, the whole log in one JSON
/// document), it lets an export and an import hold one entry at a time.
///
/// ```text
/// {"format":"nomadsync-channel-export/2",…,"entry_count":2}\n
/// <bytes of each listed blob, in order>
/// {"id":…}\n
/// {"id":…}\n
/// ```
public struct ChannelExportHeader: Sendable, Codable {
    public static let format = "nomadsync-channel-export/2"

    public var format: String
    public var exportedAt: String
    public var fromSite: SiteID
    public var channel: ChannelExportDocument.Identity
    /// Absent when the channel was never rekeyed.
    public var formerKeys: [ChannelExportDocument.FormerKey]?
    /// The blobs whose bytes follow this line, in this order, each `size` bytes (absent: none).
    public var blobs: [FileReference]?
    /// How many entry lines follow the blobs: the applied entries in log order, then the held ones.
    public var entryCount: Int

    public init(exportedAt: String, fromSite: SiteID, channel: ChannelExportDocument.Identity,
                formerKeys: [ChannelExportDocument.FormerKey]?, blobs: [FileReference]?, entryCount: Int) {
        self.format = Self.format
        self.exportedAt = exportedAt
        self.fromSite = fromSite
        self.channel = channel
        self.formerKeys = formerKeys
        self.blobs = blobs
        self.entryCount = entryCount
    }

    enum CodingKeys: String, CodingKey {
        case format, channel, blobs
        case exportedAt = "exported_at"
        case fromSite = "from_site"
        case formerKeys = "former_keys"
        case entryCount = "entry_count"
    }
}
