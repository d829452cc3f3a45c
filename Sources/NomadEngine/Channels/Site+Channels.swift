import Foundation
import NomadCrypto
import NomadModel
import NomadStore

extension Site {
    /// Creates a channel: guid, Ed25519 key pair, portable_id, this site's writer id; its first
    /// entries are its profile and this site's `location` (primary).
    public func createChannel(nickname: String, name: String? = nil) throws -> HostedChannel {
        try Names.validateNickname(nickname)
        let site = try identity()
        let guid = ChannelGUID.generate(using: random)
        let keys = SigningKeyPair.generate(using: random)
        let record = ChannelRecord(
            nickname: nickname, name: name ?? nickname, guid: guid,
            portableID: PortableID(guid: guid, publicKey: keys.publicKey), publicKey: keys.publicKey,
            seedSealed: try store.sealSecret(keys.seed, random: random), writer: OriginID.generate(using: random),
            digest: StateDigest.zero.bytes, createdAt: clock.nowText())
        let profile = try WireJSON.encodeCanonical(["nickname": nickname, "name": record.name])
        let location = try localLocation(channel: record, keys: keys, site: site, primary: true)
        return try store.write { tx in
            if try tx.channel(nickname: nickname) != nil { throw EngineError.channelExists("'\(nickname)'") }
            let stored = try tx.insertChannel(record)
            _ = try ChangeLog(limits: limits).append([
                Change(entity: "profile", key: "profile", op: .put, body: profile),
                Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location)),
            ], to: stored, in: tx, now: clock.nowMilliseconds())
            return HostedChannel(stored)
        }
    }

    /// This site's `location` for a channel, signed with the channel key.
    func localLocation(channel: ChannelRecord, keys: SigningKeyPair, site: SiteIdentity, primary: Bool,
                       fallbacks: [String] = [], voided: [String]? = nil) throws -> Location {
        let host = Names.host(of: site.url)
        var location = Location(
            host: host, address: "\(channel.nickname)@\(host)", idURL: "\(site.url)/channel/\(channel.nickname)",
            primary: primary, url: site.url, urlSig: "", siteID: site.siteID, callback: "\(site.url)/zot",
            sitekey: Base64URL.encode(site.signing.publicKey), sealkey: Base64URL.encode(site.seal.publicKey),
            deleted: false, writer: channel.writer, fallbacks: fallbacks, voided: voided)
        location.sign(with: keys)
        return location
    }

    /// Publishes this site's `location` again with other fallback URLs (tried in order after
    /// the main URL when delivering to this site), signed with the channel key and queued for
    /// every other location, in one transaction. Primary flag and voided ids are kept.
    @discardableResult
    public func setFallbacks(nickname: String, _ urls: [String]) throws -> Location {
        let fallbacks = try urls.map { try Names.normaliseSiteURL($0) }
        guard fallbacks.count <= 8, Set(fallbacks).count == fallbacks.count else {
            throw EngineError.invalidArgument("give at most 8 distinct fallback URLs")
        }
        let site = try identity()
        return try store.write { tx in
            let channel = try writableChannel(nickname: nickname, in: tx)
            let own = try Self.locations(channel: channel, in: tx).first { $0.siteID == site.siteID }
            let location = try localLocation(channel: channel, keys: try channelKeys(channel), site: site, primary: own?.primary ?? false,
                                             fallbacks: fallbacks.filter { $0 != site.url }, voided: own?.voided)
            let entries = try ChangeLog(limits: limits).append(
                [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))],
                to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
            try queueAnnouncement(.refresh, channel: channel, site: site, in: tx)
            return location
        }
    }

    /// Retires this site's location of the channel: its `location` entry is published again with
    /// `deleted: true` and queued for every other location, in one transaction. The others stop
    /// delivering to it and drop it from discovery, WebFinger and `copiedTo`; this site sends
    /// what is still queued, then neither writes nor serves the channel (410). The primary
    /// location cannot retire (another clone must become primary first), nor can the last one.
    @discardableResult
    public func retire(nickname: String) throws -> Location {
        let site = try identity()
        return try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            let locations = try Self.locations(channel: channel, in: tx)
            guard let own = locations.first(where: { $0.siteID == site.siteID }), !own.deleted else { throw EngineError.retired(nickname) }
            guard !own.primary else {
                throw EngineError.invalidArgument("this site is the primary location of '\(nickname)'; another clone must become primary before it can retire")
            }
            guard locations.contains(where: { !$0.deleted && $0.siteID != site.siteID }) else {
                throw EngineError.invalidArgument("this is the only live location of '\(nickname)'; retiring it would leave the channel nowhere")
            }
            var location = try localLocation(channel: channel, keys: try channelKeys(channel), site: site, primary: false,
                                              fallbacks: own.fallbacks, voided: own.voided)
            location.deleted = true
            location.sign(with: try channelKeys(channel))
            let entries = try ChangeLog(limits: limits).append(
                [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))],
                to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
            try queueAnnouncement(.refresh, channel: channel, site: site, in: tx)
            return location
        }
    }

    /// Whether this site retired its location of the channel.
    func isRetired(_ channel: ChannelRecord, in tx: StoreTransaction) throws -> Bool {
        guard let me = try tx.site() else { return false }
        return try Self.locations(channel: channel, in: tx).first { $0.siteID == me.siteID }?.deleted ?? false
    }

    /// Whether this site retired its location of the channel.
    /// Whether this site no longer carries the channel on: it retired its location, or the
    /// channel was purged. Either way it only delivers what is still queued.
    public func isRetired(_ channel: HostedChannel) throws -> Bool {
        try store.read { tx in
            guard let fresh = try tx.channel(rowID: channel.rowID) else { return true }
            return try fresh.purgedAt != nil || isRetired(fresh, in: tx)
        }
    }

    public func channel(nickname: String) throws -> HostedChannel { HostedChannel(try record(nickname: nickname)) }

    /// The stored row of a channel, for the engine's own transactions.
    func record(nickname: String) throws -> ChannelRecord {
        guard let c = try store.read({ try $0.channel(nickname: nickname) }) else { throw EngineError.channelNotFound(nickname) }
        return c
    }

    public func channels() throws -> [HostedChannel] { try store.read { try $0.channels() }.map(HostedChannel.init) }

    /// The channel's signing keys, opened from the store.
    public func channelKeys(_ channel: HostedChannel) throws -> SigningKeyPair { try channelKeys(channel.record) }

    func channelKeys(_ channel: ChannelRecord) throws -> SigningKeyPair {
        try channelKeyCache.keys(channel: channel.rowID, sealedSeed: channel.seedSealed) {
            let keys = try SigningKeyPair(seed: try store.openSecret(channel.seedSealed, what: "channel key of '\(channel.nickname)'"))
            guard keys.publicKey == channel.publicKey else { throw StoreError.secretUnreadable("channel key of '\(channel.nickname)'") }
            return keys
        }
    }

    /// The channel's live (not deleted) locations, this site's own included.
    public func liveLocations(of channel: HostedChannel) throws -> [Location] {
        try store.read { try Self.locations(channel: channel.record, in: $0) }.filter { !$0.deleted }
    }

    /// The channel's locations from its `location` state rows, live ones only.
    static func locations(channel: ChannelRecord, in tx: StoreTransaction) throws -> [Location] {
        try tx.stateRows(channel: channel.rowID, entity: "location").compactMap { row in
            guard row.op == .put else { return nil }
            return DecodedLocations.shared.location(entryID: row.entryID) {
                try? WireJSON.decode(Location.self, from: row.body, what: "location")
            }
        }
    }
}

/// Location bodies already decoded, by entry id. An entry id is the hash of the entry's
/// content, so one id always stands for one body: the cache can never be stale. The delivery
/// worker reads every channel's locations several times a pass; decoding them again each time
/// was most of an idle node's work. Bounded: emptied when it reaches `capacity`.
final class DecodedLocations: @unchecked Sendable {
    static let shared = DecodedLocations()
    let capacity = 20_000
    private let lock = NSLock()
    private var byEntryID: [String: Location] = [:]

    func location(entryID: String, decode: () -> Location?) -> Location? {
        if let known = lock.withLock({ byEntryID[entryID] }) { return known }
        guard let decoded = decode() else { return nil }
        lock.withLock {
            if byEntryID.count >= capacity { byEntryID.removeAll(keepingCapacity: true) }
            byEntryID[entryID] = decoded
        }
        return decoded
    }
}
