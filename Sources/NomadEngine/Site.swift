import NomadCrypto
import NomadModel
import NomadStore

/// This site's keys, opened from the store.
public struct SiteIdentity: Sendable {
    public let url: String
    public let siteID: SiteID
    public let signing: SigningKeyPair
    public let seal: SealKeyPair

    public var card: SiteCard {
        SiteCard(url: url, siteID: siteID, sitekey: Base64URL.encode(signing.publicKey), sealkey: Base64URL.encode(seal.publicKey))
    }
}

/// One running nomadsync over its store: the operations the CLI and the server call. Every
/// operation is one transaction. Time and randomness come in through `clock` and `random`,
/// so several sites can be driven by a seeded simulator.
///
/// ```swift
/// let site = Site(store: store, clock: SystemClock(), random: SystemRandom())
/// let alice = try site.createChannel(nickname: "alice", name: "Alice")
/// try site.append(nickname: "alice", [Change(entity: "item", key: "1", op: .put, body: "{}")])
/// ```
public struct Site: Sendable {
    package let store: Store
    public let clock: any WallClock
    public let random: any RandomSource
    public var limits: WireLimits

    public init(store: Store, clock: any WallClock, random: any RandomSource, limits: WireLimits = .standard) {
        self.store = store
        self.clock = clock
        self.random = random
        self.limits = limits
    }

    // MARK: Site identity

    /// Creates the site: Ed25519 and X25519 keys, `site_id`, private seeds sealed under the host key.
    @discardableResult
    public func initialise(url rawURL: String) throws -> SiteIdentity {
        let url = try Names.normaliseSiteURL(rawURL)
        let signing = SigningKeyPair.generate(using: random)
        let seal = SealKeyPair.generate(using: random)
        let siteID = SiteID(url: url, publicKey: signing.publicKey)
        let record = SiteRecord(
            url: url, siteID: siteID, signPublic: signing.publicKey,
            signSeedSealed: try store.sealSecret(signing.seed, random: random),
            sealPublic: seal.publicKey, sealSeedSealed: try store.sealSecret(seal.seed, random: random),
            hlc: HybridTimestamp(rawValue: 0), createdAt: clock.nowText())
        try store.write { tx in
            guard try tx.site() == nil else { throw EngineError.siteAlreadyInitialised }
            try tx.insertSite(record)
        }
        return SiteIdentity(url: url, siteID: siteID, signing: signing, seal: seal)
    }

    /// Opens the site's keys.
    public func identity() throws -> SiteIdentity {
        try store.read { try identity(in: $0) }
    }

    /// Opens the site's keys from inside a transaction.
    func identity(in tx: StoreTransaction) throws -> SiteIdentity {
        guard let record = try tx.site() else { throw EngineError.siteNotInitialised }
        let signing = try SigningKeyPair(seed: try store.openSecret(record.signSeedSealed, what: "site signing key"))
        let seal = try SealKeyPair(seed: try store.openSecret(record.sealSeedSealed, what: "site seal key"))
        guard signing.publicKey == record.signPublic, seal.publicKey == record.sealPublic else {
            throw StoreError.secretUnreadable("site keys (they do not match the public keys)")
        }
        return SiteIdentity(url: record.url, siteID: record.siteID, signing: signing, seal: seal)
    }

    // MARK: Channels

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
        let keys = try SigningKeyPair(seed: try store.openSecret(channel.seedSealed, what: "channel key of '\(channel.nickname)'"))
        guard keys.publicKey == channel.publicKey else { throw StoreError.secretUnreadable("channel key of '\(channel.nickname)'") }
        return keys
    }

    // MARK: Changes

    /// Appends local changes in one transaction; all are validated before any is written.
    @discardableResult
    public func append(nickname: String, _ changes: [Change]) throws -> [ChangeEntry] {
        try store.write { tx in
            guard var channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            guard let me = try tx.site() else { throw EngineError.siteNotInitialised }
            // Never reuse a seq: if any clone reports more of our own writer than we hold, we
            // were restored from a backup; take a new writer first (docs/PROTOCOL.md §3.2).
            if try staleWriterCause(channel: channel, in: tx) != nil {
                channel = try rotateWriter(channel: channel, site: try identity(in: tx), in: tx).channel
            }
            let entries = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: me.siteID, in: tx)
            return entries
        }
    }

    /// Replays entries from other clones in one transaction; a refused batch (a fork among
    /// them) changes nothing.
    public func replay(nickname: String, _ entries: [ChangeEntry], limits overrideLimits: WireLimits? = nil) throws -> ReplayReport {
        return try replay(channel: try channel(nickname: nickname), entries, limits: overrideLimits ?? limits)
    }

    public func replay(channel: HostedChannel, _ entries: [ChangeEntry], limits: WireLimits? = nil) throws -> ReplayReport {
        let limits = limits ?? self.limits
        return try store.write { tx in
            try ReplayEngine(limits: limits).apply(entries, to: channel.record, in: tx, now: clock.nowMilliseconds())
        }
    }

    /// The live state rows (tombstones included when `includeDeleted`).
    public func state(nickname: String, entity: String? = nil, includeDeleted: Bool = false) throws -> [StateRow] {
        let channel = try record(nickname: nickname)
        return try store.read { tx in
            try tx.stateRows(channel: channel.rowID, entity: entity).filter { includeDeleted || $0.op == .put }
        }
    }

    /// Entries as on the wire, in arrival order, or one origin's after a seq.
    public func log(nickname: String, origin: OriginID? = nil, after seq: UInt64 = 0) throws -> [ChangeEntry] {
        let channel = try record(nickname: nickname)
        return try store.read { try $0.entries(channel: channel.rowID, origin: origin, after: seq) }
    }

    public func status(nickname: String) throws -> ChannelStatus {
        let channel = try record(nickname: nickname)
        return try store.read { tx in
            let vector = try tx.vector(channel: channel.rowID)
            return ChannelStatus(
                nickname: channel.nickname, name: channel.name, portableID: channel.portableID, guid: channel.guid,
                publicKey: Base64URL.encode(channel.publicKey), writer: channel.writer,
                digest: StateDigest(bytes: channel.digest).hex, vector: vector,
                entries: try tx.entryCount(channel: channel.rowID), held: try tx.pendingCount(channel: channel.rowID),
                missing: try ReplayEngine.missing(channel: channel, vector: vector, in: tx), diverged: channel.diverged,
                locations: try Self.locations(channel: channel, in: tx))
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
            return try? WireJSON.decode(Location.self, from: row.body, what: "location")
        }
    }
}
