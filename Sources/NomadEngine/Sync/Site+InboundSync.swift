import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A sync packet opened and checked but not yet accepted.
public struct OpenedSync: Sendable {
    public var channel: HostedChannel
    public var data: SyncData
    /// The sending location: its `id_url` is the key id the request must be signed with.
    public var sender: Location
    /// The channel key the request must be signed with: the one behind the envelope's sender id.
    public var signingKey: [UInt8]
}

/// A sync packet opened, its signature verified by the caller, and its entries checked (fields
/// and content ids, `ReplayEngine.check`): ready for `acceptSync`. Checking is the costly part
/// that needs no transaction, so a server checks one packet while the writer replays another.
public struct CheckedSync: Sendable {
    public var opened: OpenedSync
    var entries: CheckedEntries
}

/// What accepting a sync packet did.
public struct AcceptedSync: Sendable {
    public var report: ReplayReport
    public var divergence: DivergenceChange
    /// Set when the sender's report showed this site reused its writer, and it took a new one.
    public var healed: WriterHealReport?
}

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
        let channel = try record(nickname: nickname)
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
        let plain = try data.wireJSON()
        let sealKey = try Base64URL.decode(recipient.sealkey, what: "recipient sealkey", length: SealKeyPair.publicKeyLength)
        let binding = Envelope.binding(type: .sync, sender: channel.portableID, siteID: site.siteID, recipientSiteID: recipient.siteID)
        let payload = try SealedPayload.seal(plain, to: sealKey, additionalData: binding, random: random)
        return Envelope(type: .sync, sender: channel.portableID, siteID: site.siteID, recipients: [channel.portableID], data: payload)
    }

    /// Opens a sync envelope addressed to this site, read-only: nothing of it is recorded yet.
    /// Checks that the channel is hosted here under the sender's portable_id (its current id, a
    /// linked former one, or a new id the packet's own `key` entries lead to from one of them),
    /// that the payload opens with the binding to this site, that the data names the same channel
    /// and site as the envelope, and that the sending site is a live location of the channel (or
    /// introduces itself with a signed `location` entry). The caller verifies the request's
    /// signature with `signingKey` for `sender`, then calls `acceptSync`.
    public func openSync(_ envelope: Envelope) throws -> OpenedSync {
        guard envelope.type == .sync else { throw EngineError.notForThisSite("expected a sync message, got \(envelope.type.rawValue)") }
        let site = try identity()
        // The channel and its locations in one read: this is on the path of every packet.
        let (named, known) = try store.read { tx -> ((channel: ChannelRecord, publicKey: [UInt8], valid: Bool)?, [Location]) in
            guard let named = try self.channel(named: envelope.sender, in: tx) else { return (nil, []) }
            return (named, try Self.locations(channel: named.channel, in: tx))
        }
        if let named, !named.valid {
            throw EngineError.supersededID(envelope.sender.text, keys: try store.read { try Self.keyEntries(of: named.channel, in: $0) })
        }
        guard named != nil || envelope.recipients.isEmpty || envelope.recipients.contains(envelope.sender) else {
            throw EngineError.notForThisSite("channel \(envelope.sender.text) is not hosted on this site")
        }
        let plain = try envelope.data.open(with: site.seal, additionalData: envelope.binding(recipientSiteID: site.siteID))
        let data = try SyncData.decodeWire(plain, what: "sync data", maxDepth: limits.maxJSONDepth)
        guard data.channel == envelope.sender, data.from == envelope.siteID else {
            throw EngineError.notForThisSite("sync data names another channel or site than its envelope")
        }
        guard data.entries.count <= limits.maxEntriesPerPacket, (data.keys ?? []).count <= 64 else {
            throw EngineError.tooManyEntries(count: data.entries.count + (data.keys ?? []).count, limit: limits.maxEntriesPerPacket)
        }
        let vouching = data.entries + (data.keys ?? [])
        guard let resolved = try named ?? store.read({ try self.channel(introducing: envelope.sender, by: vouching, in: $0) }) else {
            throw EngineError.notForThisSite("channel \(envelope.sender.text) is not hosted on this site")
        }
        let channel = resolved.channel
        let locations = named != nil ? known : try store.read { try Self.locations(channel: channel, in: $0) }
        try ensureServed(channel, locations: locations, me: site.siteID)
        guard envelope.recipients.isEmpty || envelope.recipients.contains(envelope.sender) || envelope.recipients.contains(channel.portableID) else {
            throw EngineError.notForThisSite("no recipient of this packet is hosted on this site")
        }
        let sender = try senderLocation(envelope.siteID, of: channel, introducedBy: vouching, known: locations)
        return OpenedSync(channel: HostedChannel(channel), data: data, sender: sender, signingKey: resolved.publicKey)
    }

    /// Accepts an opened packet in **one** transaction: the request token (refused if seen in
    /// the last `tokenWindow` ms), the replay of its entries, and the sender's report (vector and
    /// digest). A refusal at any step records nothing, not even the token. When the report shows
    /// other clones hold more of this site's own writer, the site takes a new writer at once.
    public func acceptSync(_ opened: OpenedSync, token: String, tokenWindow: UInt64 = 30 * 60 * 1000) throws -> AcceptedSync {
        try acceptSync(try checkSync(opened), token: token, tokenWindow: tokenWindow)
    }

    /// Checks an opened packet's entries (fields and content ids) without a transaction.
    /// Throws what `acceptSync` would throw for the first entry that fails.
    public func checkSync(_ opened: OpenedSync) throws -> CheckedSync {
        CheckedSync(opened: opened, entries: try ReplayEngine(limits: limits).check(opened.data.entries))
    }

    /// `acceptSync` for a packet whose entries were checked before (`checkSync`), typically
    /// while the writer replayed another packet.
    public func acceptSync(_ checkedSync: CheckedSync, token: String, tokenWindow: UInt64 = 30 * 60 * 1000) throws -> AcceptedSync {
        let (opened, checked) = (checkedSync.opened, checkedSync.entries)
        let now = clock.nowMilliseconds()
        return try store.write { tx in
            guard try tx.recordToken(token, now: now, windowStart: now > tokenWindow ? now - tokenWindow : 0) else {
                throw EngineError.replayedToken(windowMinutes: tokenWindow / 60_000)
            }
            let carried = try fittingKeys(opened.data.keys ?? [], channel: try tx.channel(rowID: opened.channel.rowID) ?? opened.channel.record, in: tx)
            var batchLimits = limits
            batchLimits.maxEntriesPerPacket = limits.maxEntriesPerPacket + carried.count
            let report = try ReplayEngine(limits: batchLimits).apply(checked, plus: carried, to: opened.channel.record, in: tx, now: now,
                                                                     vouching: opened.data.keys ?? [])
            let divergence = try recordReport(channel: opened.channel.record, from: opened.sender.siteID, vector: opened.data.vector,
                                              digest: opened.data.digest,
                                              pushed: opened.data.entries.contains { $0.origin == opened.sender.writer }, in: tx)
            var healed: WriterHealReport?
            if let channel = try tx.channel(rowID: opened.channel.rowID), try staleWriterCause(channel: channel, in: tx) != nil {
                healed = try rotateWriter(channel: channel, site: try identity(in: tx), in: tx).report
            }
            try settle(opened.channel.record, in: tx, vouching: opened.data.keys ?? [])
            return AcceptedSync(report: report, divergence: divergence, healed: healed)
        }
    }

    /// Decodes, opens and replays a message body (no HTTP: the CLI's `packet open`). Unknown
    /// encodings are ignored, not refused.
    public func receive(_ body: Data, registry: CodecRegistry = .standard) throws -> ReceiveOutcome {
        switch try registry.decode(body, limits: limits) {
        case .ignored(let encoding, _):
            return .ignored(encoding: encoding)
        case .envelope(let envelope):
            let opened = try openSync(envelope)
            // A packet applied from a file by the admin has no request token: a fresh one stands in.
            let accepted = try acceptSync(opened, token: "file:" + Base64URL.encode(random.bytes(24)))
            return .applied(channel: opened.channel.nickname, report: accepted.report)
        }
    }

    /// A clone refused our packets because it does not know this site as a location (it was
    /// restored from an older backup, or never got our `location`): our current `location` entry
    /// is queued for it again, so the next packet introduces this site.
    public func introduce(nickname: String, to siteID: SiteID) throws {
        try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname), let me = try tx.site(),
                  let own = try tx.stateRow(channel: channel.rowID, entity: "location", key: me.siteID.text),
                  let entry = try tx.documentEntry(channel: channel.rowID, entryID: own.entryID) else { return }
            try tx.enqueue(channel: channel.rowID, origin: entry.origin, seq: entry.seq, for: siteID)
        }
    }

    func checkSender(_ siteID: SiteID, of channel: ChannelRecord, introducedBy entries: [ChangeEntry]) throws {
        _ = try senderLocation(siteID, of: channel, introducedBy: entries)
    }

    /// The location of `channel` at the sending site: a known live one, or one the packet
    /// introduces with a `location` entry for that site whose `url_sig` verifies with the
    /// channel key and whose site key derives the site_id (how a new clone first announces itself).
    public func senderLocation(_ siteID: SiteID, of channel: HostedChannel, introducedBy entries: [ChangeEntry]) throws -> Location {
        try senderLocation(siteID, of: channel.record, introducedBy: entries)
    }

    func senderLocation(_ siteID: SiteID, of channel: ChannelRecord, introducedBy entries: [ChangeEntry],
                        known: [Location]? = nil) throws -> Location {
        let known = try known ?? store.read { try Self.locations(channel: channel, in: $0) }
        if let location = known.first(where: { $0.siteID == siteID && !$0.deleted }) { return location }
        for entry in entries where entry.entity == "location" && entry.key == siteID.text && entry.op == .put {
            guard let location = try? WireJSON.decode(Location.self, from: entry.body, what: "location"),
                  location.siteID == siteID, !location.deleted,
                  (try? location.verify(anyOf: try trustedKeys(of: channel, with: entries))) != nil else { continue }
            return location
        }
        throw EngineError.unknownSender(siteID.text)
    }
}
