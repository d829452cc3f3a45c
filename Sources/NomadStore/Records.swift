import Foundation
import NomadModel

/// The site row: who this nomadsync is. Secret seeds are stored sealed under the host key.
public struct SiteRecord: Sendable, Equatable {
    public var url: String
    public var siteID: SiteID
    public var signPublic: [UInt8]
    public var signSeedSealed: [UInt8]
    public var sealPublic: [UInt8]
    public var sealSeedSealed: [UInt8]
    public var hlc: HybridTimestamp
    public var createdAt: String

    public init(url: String, siteID: SiteID, signPublic: [UInt8], signSeedSealed: [UInt8], sealPublic: [UInt8],
                sealSeedSealed: [UInt8], hlc: HybridTimestamp, createdAt: String) {
        self.url = url
        self.siteID = siteID
        self.signPublic = signPublic
        self.signSeedSealed = signSeedSealed
        self.sealPublic = sealPublic
        self.sealSeedSealed = sealSeedSealed
        self.hlc = hlc
        self.createdAt = createdAt
    }
}

/// A channel hosted here. `rowID` is the local key all of its log, state and vector rows use.
public struct ChannelRecord: Sendable, Equatable {
    public var rowID: Int64
    public var nickname: String
    public var name: String
    public var guid: String
    public var portableID: PortableID
    public var publicKey: [UInt8]
    public var seedSealed: [UInt8]
    /// This site's writer id (origin) for the channel.
    public var writer: OriginID
    /// The state digest, 32 bytes (sum mod 2^256, DESIGN §3).
    public var digest: [UInt8]
    /// Set when a fork was detected: why, in words.
    public var diverged: String?
    public var createdAt: String
    /// When the channel was purged (deleted everywhere), in Unix milliseconds.
    public var purgedAt: UInt64?
    /// The `id_url` of the location the channel migrated to from this site.
    public var movedTo: String?
    /// Set while the channel is being bootstrapped from another clone (the grant, JSON): it is
    /// not served, delivered or listed until the bootstrap finishes.
    public var bootstrap: String?
    /// A purged channel whose data is gone: only its row stays, to answer 410.
    public var isWiped: Bool { seedSealed.isEmpty }

    public init(rowID: Int64 = 0, nickname: String, name: String, guid: String, portableID: PortableID,
                publicKey: [UInt8], seedSealed: [UInt8], writer: OriginID, digest: [UInt8],
                diverged: String? = nil, createdAt: String, purgedAt: UInt64? = nil, movedTo: String? = nil, bootstrap: String? = nil) {
        self.bootstrap = bootstrap
        self.purgedAt = purgedAt
        self.movedTo = movedTo
        self.rowID = rowID
        self.nickname = nickname
        self.name = name
        self.guid = guid
        self.portableID = portableID
        self.publicKey = publicKey
        self.seedSealed = seedSealed
        self.writer = writer
        self.digest = digest
        self.diverged = diverged
        self.createdAt = createdAt
    }
}
