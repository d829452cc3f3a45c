import NomadCrypto
import NomadModel
import NomadStore

/// What migrating a channel away from this site did.
public struct MigrateOutcome: Sendable, Equatable, Codable {
    /// This site's URL (its location is now deleted) and the new primary's.
    public var from: String
    public var to: String
    /// The new primary's `id_url`: the actor here names it in `movedTo`.
    public var movedTo: String

    enum CodingKeys: String, CodingKey {
        case from, to
        case movedTo = "moved_to"
    }
}

extension Site {
    /// Migrates a channel from this site to another live clone (`nomadsync channel migrate NICK
    /// --to URL`), in one transaction: the target becomes the primary location, any other
    /// primary stops being one, this site's location is marked deleted, and the new `location`
    /// entries are queued for every clone; `refresh` goes to every location and connection.
    /// It refuses unless the target reported holding everything this site holds and nothing
    /// waits in the outbox for it. Afterwards this site neither writes nor serves the channel's
    /// sync (410), but keeps answering discovery, WebFinger and the actor — whose `movedTo`
    /// names the new primary — so whoever still looks here finds the channel.
    ///
    /// ```swift
    /// let outcome = try site.migrate(nickname: "alice", to: "https://b.example")
    /// ```
    @discardableResult
    public func migrate(nickname: String, to rawURL: String) throws -> MigrateOutcome {
        let url = try Names.normaliseSiteURL(rawURL)
        let site = try identity()
        return try store.write { tx in
            let channel = try writableChannel(nickname: nickname, in: tx)
            let locations = try Self.locations(channel: channel, in: tx)
            guard url != site.url else { throw EngineError.invalidArgument("\(url) is this site; migrate to another clone") }
            guard let own = locations.first(where: { $0.siteID == site.siteID }) else { throw EngineError.retired(nickname) }
            guard let target = locations.first(where: { !$0.deleted && $0.siteID != site.siteID && $0.baseURLs.contains(url) }) else {
                throw EngineError.invalidArgument("\(url) is not a live location of '\(nickname)'; make a clone there first (channel export and import)")
            }
            try ensureCaughtUp(target, channel: channel, in: tx)
            let keys = try channelKeys(channel)
            var changes: [Change] = []
            for var location in locations where !location.deleted && location.siteID != site.siteID {
                let primary = location.siteID == target.siteID
                guard location.primary != primary else { continue }
                location.primary = primary
                location.sign(with: keys)
                changes.append(Change(entity: "location", key: location.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location)))
            }
            var mine = try localLocation(channel: channel, keys: keys, site: site, primary: false, fallbacks: own.fallbacks, voided: own.voided)
            mine.deleted = true
            mine.sign(with: keys)
            changes.append(Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(mine)))
            let entries = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
            try tx.setMovedTo(channel: channel.rowID, idURL: target.idURL)
            try queueAnnouncement(.refresh, channel: channel, site: site, in: tx)
            return MigrateOutcome(from: site.url, to: target.url, movedTo: target.idURL)
        }
    }

    /// The target's last report covers every entry this site holds, and its outbox is empty.
    func ensureCaughtUp(_ target: Location, channel: ChannelRecord, in tx: StoreTransaction) throws {
        let vector = try tx.vector(channel: channel.rowID)
        let peer = try tx.peer(channel: channel.rowID, siteID: target.siteID)
        let behind = vector.entriesAhead(of: peer?.vector ?? VersionVector())
        let queued = try tx.outboxDepths(channel: channel.rowID)[target.siteID] ?? 0
        if peer?.vector != nil, behind == 0, queued == 0 { return }
        throw EngineError.notCaughtUp(location: target.url, behind: behind, queued: queued,
                                      lastHeard: peer?.lastHeard.map(Self.timestampText))
    }

    /// Refuses to publish discovery, WebFinger or the actor for a channel this site no longer
    /// carries — purged, or retired — except after a migration, when they point at the new primary.
    func ensurePublished(_ channel: ChannelRecord, in tx: StoreTransaction) throws {
        if channel.purgedAt != nil { throw EngineError.purged(channel.nickname) }
        if channel.bootstrap != nil { throw EngineError.bootstrapping(channel.nickname) }
        if channel.movedTo == nil, try isRetired(channel, in: tx) { throw EngineError.retired(channel.nickname) }
    }
}
