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
        try store.read { try identity(in: $0) }
    }

    /// Moves whenever anything commits to this site's database (nil in memory): the delivery
    /// worker's cue that a pass may have something to do.
    public func changeMarker() throws -> Int64? { try store.changeMarker() }

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
