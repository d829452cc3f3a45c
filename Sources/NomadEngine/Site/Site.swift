import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// One running nomadsync over its store: the operations the CLI and the server call. Every
/// operation is one transaction. Time and randomness come in through `clock` and `random`,
/// so several sites can be driven by a seeded simulator.
///
/// Its operations are grouped by job, one folder each: `Channels/` (create, keys, locations,
/// export and import, discovery), `Ledger/` (local changes, replay, the writer that puts entries
/// into log, vector, state and digest, healing), `Sync/` (inbound packets, pulled pages),
/// `Delivery/` (the outbox and the `DeliveryPlanner`), `Status/` (what status and metrics show).
///
/// ```swift
/// let site = try Site.open(directory: "/var/lib/nomadsync")
/// let alice = try site.createChannel(nickname: "alice", name: "Alice")
/// try site.append(nickname: "alice", [Change(entity: "item", key: "1", op: .put, body: "{}")])
/// ```
public struct Site: Sendable {
    package let store: Store
    public let clock: any WallClock
    public let random: any RandomSource
    public var limits: WireLimits
    /// The site's identity once opened: it never changes after `initialise`, and opening it
    /// (two sealed seeds) was the largest part of an idle node's work.
    private let identityCache = IdentityCache()
    /// Channel signing keys once opened (each opening is a sealed seed and a key derivation;
    /// the delivery worker signs every request with one).
    let channelKeyCache = ChannelKeyCache()
    /// Where the last look for missing blobs found none, per channel (`missingBlobs`).
    let blobScans = BlobScans()

    package init(store: Store, clock: any WallClock, random: any RandomSource, limits: WireLimits = .standard) {
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
        // Opened once; every delivery step asks for it, and a read transaction per ask showed.
        if let cached = identityCache.value { return cached }
        return try store.read { try identity(in: $0) }
    }

    /// Moves whenever anything commits to this site's database (nil in memory): the delivery
    /// worker's cue that a pass may have something to do.
    public func changeMarker() throws -> Int64? { try store.changeMarker() }

    /// Moves when something a delivery plan depends on may have changed (`Store.deliveryMarker()`):
    /// unlike `changeMarker`, quiet commits (heartbeats that reported nothing new) leave it.
    public func deliveryMarker() throws -> DeliveryMarker { try store.deliveryMarker() }

    /// Opens the site's keys from inside a transaction.
    func identity(in tx: StoreTransaction) throws -> SiteIdentity {
        if let cached = identityCache.value { return cached }
        guard let record = try tx.site() else { throw EngineError.siteNotInitialised }
        let signing = try SigningKeyPair(seed: try store.openSecret(record.signSeedSealed, what: "site signing key"))
        let seal = try SealKeyPair(seed: try store.openSecret(record.sealSeedSealed, what: "site seal key"))
        guard signing.publicKey == record.signPublic, seal.publicKey == record.sealPublic else {
            throw StoreError.secretUnreadable("site keys (they do not match the public keys)")
        }
        let identity = SiteIdentity(url: record.url, siteID: record.siteID, signing: signing, seal: seal)
        identityCache.value = identity
        return identity
    }
}

/// Holds a site's opened identity for every copy of the `Site` value.
final class IdentityCache: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: SiteIdentity?

    var value: SiteIdentity? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Opened channel signing keys, by channel row, each with the sealed seed it was opened from:
/// a rekey or a purge changes (or wipes) the sealed seed, so a stale pair is never returned,
/// and it is dropped at the first ask after. Bounded: emptied when it reaches `capacity`. The
/// keys stay in this process's memory as the site's own keys do; they are never written out.
final class ChannelKeyCache: @unchecked Sendable {
    let capacity = 4_096
    private let lock = NSLock()
    private var byChannel: [Int64: (sealed: [UInt8], keys: SigningKeyPair)] = [:]

    func keys(channel: Int64, sealedSeed: [UInt8], open: () throws -> SigningKeyPair) throws -> SigningKeyPair {
        let known = lock.withLock { () -> SigningKeyPair? in
            guard let entry = byChannel[channel] else { return nil }
            if entry.sealed == sealedSeed { return entry.keys }
            byChannel[channel] = nil
            return nil
        }
        if let known { return known }
        let opened = try open()
        lock.withLock {
            if byChannel.count >= capacity { byChannel.removeAll(keepingCapacity: true) }
            byChannel[channel] = (sealedSeed, opened)
        }
        return opened
    }
}

/// Per channel row, the log position up to which the last look for missing blobs found none,
/// and when it looked. Bounded like `ChannelKeyCache`; a channel dropped from it is looked at
/// again in full.
final class BlobScans: @unchecked Sendable {
    let capacity = 65_536
    private let lock = NSLock()
    private var byChannel: [Int64: (head: Int64, at: UInt64)] = [:]

    /// The position the last look covered, if it found nothing missing and is younger than `within`.
    func nothingMissing(channel: Int64, asOf now: UInt64, within: UInt64) -> Int64? {
        lock.withLock {
            guard let last = byChannel[channel], now >= last.at, now - last.at < within else { return nil }
            return last.head
        }
    }

    /// A full look up to `head`: remembered if it found nothing missing, forgotten otherwise.
    func looked(channel: Int64, upTo head: Int64, at now: UInt64, nothingMissing: Bool) {
        lock.withLock {
            guard nothingMissing else { byChannel[channel] = nil; return }
            if byChannel.count >= capacity { byChannel.removeAll(keepingCapacity: true) }
            byChannel[channel] = (head, now)
        }
    }

    /// Entries up to `head` came, none of them a `file` entry: the last look still stands.
    func advance(channel: Int64, to head: Int64) {
        lock.withLock { byChannel[channel]?.head = head }
    }
}

/// What `Site.deliveryMarker()` returns (`Store.deliveryMarker()`).
public typealias DeliveryMarker = NomadStore.DeliveryMarker
