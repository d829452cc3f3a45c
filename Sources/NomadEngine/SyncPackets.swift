import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// What receiving a message did.
public enum ReceiveOutcome: Sendable, Equatable {
    /// A sync packet was opened and replayed.
    case applied(channel: String, report: ReplayReport)
    /// The encoding is not registered: nothing was applied (Zot6 rule).
    case ignored(encoding: String)
}

extension Site {
    /// Builds a sealed `sync` envelope for `recipient` carrying the channel's entries that the
    /// recipient's `known` vector lacks (all entries when nil), with our vector and digest.
    public func sealSync(nickname: String, to recipient: SiteCard, known: VersionVector? = nil,
                         maxEntries: Int? = nil) throws -> Envelope {
        let site = try identity()
        let channel = try channel(nickname: nickname)
        let limit = maxEntries ?? limits.maxEntriesPerPacket
        let (entries, vector) = try store.read { tx -> ([ChangeEntry], VersionVector) in
            let vector = try tx.vector(channel: channel.rowID)
            var out: [ChangeEntry] = []
            if let known {
                for range in known.missing(comparedTo: vector) where out.count < limit {
                    out += try tx.entries(channel: channel.rowID, origin: range.origin, after: range.from - 1, limit: limit - out.count)
                }
            } else {
                out = try tx.entries(channel: channel.rowID, limit: limit)
            }
            return (out, vector)
        }
        let data = SyncData(channel: channel.portableID, from: site.siteID, entries: entries, vector: vector,
                            digest: StateDigest(bytes: channel.digest).hex)
        let plain = Array(try WireJSON.encode(data).utf8)
        let sealKey = try Base64URL.decode(recipient.sealkey, what: "recipient sealkey", length: SealKeyPair.publicKeyLength)
        let binding = Envelope.binding(type: .sync, sender: channel.portableID, siteID: site.siteID, recipientSiteID: recipient.siteID)
        let payload = try SealedPayload.seal(plain, to: sealKey, additionalData: binding, random: random)
        return Envelope(type: .sync, sender: channel.portableID, siteID: site.siteID, recipients: [channel.portableID], data: payload)
    }

    /// Opens a sync envelope addressed to this site and returns the channel it is for and its data.
    /// Checks that the channel is hosted here, that the payload opens with the binding to this
    /// site, that the data names the same channel and site as the envelope, and that the sending
    /// site is a live location of the channel (or introduces itself with a `location` entry whose
    /// `url_sig` verifies with the channel key).
    public func openSync(_ envelope: Envelope) throws -> (ChannelRecord, SyncData) {
        guard envelope.type == .sync else { throw EngineError.notForThisSite("expected a sync message, got \(envelope.type.rawValue)") }
        let site = try identity()
        guard let channel = try store.read({ try $0.channel(portableID: envelope.sender) }) else {
            throw EngineError.notForThisSite("channel \(envelope.sender.text) is not hosted on this site")
        }
        guard envelope.recipients.isEmpty || envelope.recipients.contains(channel.portableID) else {
            throw EngineError.notForThisSite("no recipient of this packet is hosted on this site")
        }
        let plain = try envelope.data.open(with: site.seal, additionalData: envelope.binding(recipientSiteID: site.siteID))
        let data = try WireJSON.decode(SyncData.self, from: Data(plain), what: "sync data", maxDepth: limits.maxJSONDepth)
        guard data.channel == envelope.sender, data.from == envelope.siteID else {
            throw EngineError.notForThisSite("sync data names another channel or site than its envelope")
        }
        guard data.entries.count <= limits.maxEntriesPerPacket else {
            throw EngineError.tooManyEntries(count: data.entries.count, limit: limits.maxEntriesPerPacket)
        }
        try checkSender(envelope.siteID, of: channel, introducedBy: data.entries)
        return (channel, data)
    }

    /// Decodes, opens and replays a message body. Unknown encodings are ignored, not refused.
    public func receive(_ body: Data, registry: CodecRegistry = .standard) throws -> ReceiveOutcome {
        switch try registry.decode(body, limits: limits) {
        case .ignored(let encoding, _):
            return .ignored(encoding: encoding)
        case .envelope(let envelope):
            let (channel, data) = try openSync(envelope)
            return .applied(channel: channel.nickname, report: try replay(channel: channel, data.entries, limits: limits))
        }
    }

    func checkSender(_ siteID: SiteID, of channel: ChannelRecord, introducedBy entries: [ChangeEntry]) throws {
        _ = try senderLocation(siteID, of: channel, introducedBy: entries)
    }

    /// The location of `channel` at the sending site: a known live one, or one the packet
    /// introduces with a `location` entry for that site whose `url_sig` verifies with the
    /// channel key and whose site key derives the site_id (how a new clone first announces itself).
    public func senderLocation(_ siteID: SiteID, of channel: ChannelRecord, introducedBy entries: [ChangeEntry]) throws -> Location {
        let known = try store.read { try Self.locations(channel: channel, in: $0) }
        if let location = known.first(where: { $0.siteID == siteID && !$0.deleted }) { return location }
        for entry in entries where entry.entity == "location" && entry.key == siteID.text && entry.op == .put {
            guard let location = try? WireJSON.decode(Location.self, from: entry.body, what: "location"),
                  location.siteID == siteID, !location.deleted,
                  let sitekey = try? Base64URL.decode(location.sitekey, what: "sitekey", length: SigningKeyPair.publicKeyLength),
                  SiteID(url: location.url, publicKey: sitekey) == siteID,
                  (try? location.verifyURLSignature(channelPublicKey: channel.publicKey)) != nil else { continue }
            return location
        }
        throw EngineError.notForThisSite("site \(siteID.text) is not a location of this channel")
    }
}
