import Foundation
import NomadCrypto

/// The decrypted payload of every `/zot` message but `sync` (`rekey`, `refresh`, `purge`,
/// `activity`, `response`): who sends it, in a form the receiver can check without asking
/// anyone, and what the type carries.
/// ```json
/// {"channel":"<sender portable_id>","from":"<sender site_id>","guid":"<sender guid>",
///  "public_key":"<sender Ed25519 key, base64url>",
///  "rekey":{"rekey":"…","old_sig":"…","new_sig":"…"},      // rekey only
///  "activity":"<exact JSON text>"}                          // activity and response only
/// ```
/// `portable_id = BLAKE2b-512(guid ‖ public_key)`, so a receiver that never met the sender
/// still knows the key behind `channel`, and the request's HTTP signature must verify with it.
public struct ChannelMessage: Sendable, Equatable, Codable {
    public var channel: PortableID
    public var from: SiteID
    public var guid: String
    public var publicKey: String
    public var rekey: SignedRekey?
    public var activity: String?

    public init(channel: PortableID, from: SiteID, guid: String, publicKey: [UInt8], rekey: SignedRekey? = nil, activity: String? = nil) {
        self.channel = channel
        self.from = from
        self.guid = guid
        self.publicKey = Base64URL.encode(publicKey)
        self.rekey = rekey
        self.activity = activity
    }

    enum CodingKeys: String, CodingKey {
        case channel, from, guid, rekey, activity
        case publicKey = "public_key"
    }

    /// What a checked message says, by type.
    public enum Content: Sendable, Equatable {
        case rekey(RekeyData)
        case refresh
        case purge
        case activity(String)
    }

    /// Checks the message against its envelope and returns the sender's public key and what it
    /// carries: `channel` and `from` name the envelope's sender and site; the portable_id
    /// derives from `guid` and `public_key`; a `rekey` carries a rekey whose both signatures
    /// verify, of this guid, whose new id is the sender (the new key signs the request); an
    /// `activity` or `response` carries a JSON object within `limits`; the others carry neither.
    public func checked(against envelope: Envelope, limits: WireLimits) throws -> (publicKey: [UInt8], content: Content) {
        guard channel == envelope.sender, from == envelope.siteID else {
            throw ModelError.invalidField("channel", reason: "the message names another channel or site than its envelope")
        }
        let key = try Base64URL.decode(publicKey, what: "public_key", length: SigningKeyPair.publicKeyLength)
        guard guid.utf8.count <= 256, PortableID(guid: guid, publicKey: key) == channel else {
            throw ModelError.invalidField("public_key", reason: "the sender's portable_id is not derived from guid and public_key")
        }
        switch envelope.type {
        case .rekey:
            guard let rekey, activity == nil else { throw ModelError.invalidField("rekey", reason: "a rekey message carries a rekey and nothing else") }
            let data = try rekey.verified()
            guard data.channel == guid, data.newPortableID == channel else {
                throw ModelError.invalidField("rekey", reason: "the rekey is not of the sending channel, or its new id is not the sender")
            }
            return (key, .rekey(data))
        case .refresh, .purge:
            guard rekey == nil, activity == nil else {
                throw ModelError.invalidField("data", reason: "a \(envelope.type.rawValue) message carries neither a rekey nor an activity")
            }
            return (key, envelope.type == .refresh ? .refresh : .purge)
        case .activity, .response:
            guard let activity, rekey == nil else {
                throw ModelError.invalidField("activity", reason: "an \(envelope.type.rawValue) message carries an activity and nothing else")
            }
            // It travels on inside an `inbound` entry, whose body adds up to 4 KiB around it.
            guard activity.utf8.count <= limits.maxEntryBodyBytes - 4096 else {
                throw ModelError.tooLarge("the activity is over \(limits.maxEntryBodyBytes - 4096) bytes")
            }
            try JSONText.validate(activity, what: "activity", maxDepth: limits.maxJSONDepth)
            guard activity.utf8.first(where: { ![9, 10, 13, 32].contains($0) }) == UInt8(ascii: "{") else {
                throw ModelError.invalidField("activity", reason: "must be a JSON object")
            }
            return (key, .activity(activity))
        case .sync:
            throw ModelError.invalidField("type", reason: "a sync message carries sync data, not a channel message")
        }
    }

    /// The id an `activity` or `response` is kept under: the activity's own `id` when it is a
    /// string of 1 to 2,048 bytes without control characters (it becomes an entry key), else
    /// `sha256:` and the lowercase hex SHA-256 of its bytes.
    public static func messageID(activity: String) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(activity.utf8)) as? [String: Any],
           let id = object["id"] as? String, !id.isEmpty, id.utf8.count <= 2048,
           !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return id
        }
        return "sha256:" + Hex.encode(SHA256.hash(Array(activity.utf8)))
    }
}
