import Foundation

/// The kinds of message posted to `/zot` (Zot6's list).
public enum MessageType: String, Sendable, Codable, CaseIterable {
    case sync, rekey, refresh, purge, activity, response
}

/// What `POST /zot` carries:
/// ```json
/// {"type":"sync","encoding":"nomadsync","sender":"<portable_id>","site_id":"<site_id>",
///  "version":"nomadsync/1","recipients":["<portable_id>"],"data":{ sealed payload }}
/// ```
public struct Envelope: Sendable, Equatable, Codable {
    public static let currentVersion = "nomadsync/1"

    public var type: MessageType
    public var encoding: String
    public var sender: PortableID
    public var siteID: SiteID
    public var version: String
    public var recipients: [PortableID]
    public var data: SealedPayload

    public init(type: MessageType, encoding: String = NomadsyncCodec.tag, sender: PortableID, siteID: SiteID,
                version: String = Envelope.currentVersion, recipients: [PortableID], data: SealedPayload) {
        self.type = type
        self.encoding = encoding
        self.sender = sender
        self.siteID = siteID
        self.version = version
        self.recipients = recipients
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case type, encoding, sender, version, recipients, data
        case siteID = "site_id"
    }

    /// The additional authenticated data of the sealed payload: binds it to the message type,
    /// the sender, the sending site and the receiving site, so it cannot be lifted into another
    /// envelope or replayed to another site.
    public static func binding(type: MessageType, sender: PortableID, siteID: SiteID, recipientSiteID: SiteID) -> [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/aad/1")
        w.text(type.rawValue)
        w.text(sender.text)
        w.text(siteID.text)
        w.text(recipientSiteID.text)
        return w.bytes
    }

    public func binding(recipientSiteID: SiteID) -> [UInt8] {
        Self.binding(type: type, sender: sender, siteID: siteID, recipientSiteID: recipientSiteID)
    }
}

/// The fields every envelope must have whatever its encoding, read before choosing a codec.
/// A Zot6 *encapsulated* envelope (the whole envelope encrypted to the receiving site:
/// `{"encrypted":true,"alg":…,"key":…,"iv":…,"data":…}`) has neither `type` nor `encoding`;
/// nomadsync never sends one, so it is a foreign encoding.
public struct EnvelopeHeader: Sendable, Equatable, Decodable {
    public var type: String
    public var encoding: String

    enum CodingKeys: String, CodingKey { case type, encoding, encrypted, alg }

    /// The `alg` of an encapsulated envelope, when the body is one.
    public var encapsulation: String?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if try c.decodeIfPresent(Bool.self, forKey: .encrypted) == true, !c.contains(.type),
           let alg = try? c.decode(String.self, forKey: .alg) {
            type = ""
            encoding = ""
            encapsulation = alg
            return
        }
        type = try c.decode(String.self, forKey: .type)
        encoding = try c.decode(String.self, forKey: .encoding)
        encapsulation = nil
    }

    /// The message type, or a clear error for one nomadsync does not know.
    public func messageType() throws -> MessageType {
        guard let t = MessageType(rawValue: type) else {
            throw ModelError.invalidField("type", reason: "unknown message type '\(type.prefix(40))'; expected one of \(MessageType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return t
    }
}
