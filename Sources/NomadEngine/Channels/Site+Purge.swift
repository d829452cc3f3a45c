import NomadModel
import NomadStore

/// What deleting a channel everywhere did here.
public struct PurgeOutcome: Sendable, Equatable, Codable {
    /// Locations the `purge` entry still has to reach; this site keeps the channel key (and
    /// nothing else is written) until they all acknowledged it, then wipes the channel.
    public var pendingLocations: Int
    /// True when the channel's data is already gone here (no other location to tell).
    public var wiped: Bool

    enum CodingKeys: String, CodingKey {
        case wiped
        case pendingLocations = "pending_locations"
    }
}

extension Site {
    /// Deletes a channel everywhere (`nomadsync channel delete NICK --everywhere`): one
    /// transaction appends a `purge` entry, queues it for every other live location and marks the
    /// channel purged. From then on this site writes and serves nothing of it (410) and only
    /// delivers what is queued; once every location acknowledged, the channel's log, state and
    /// keys are wiped. Each clone that applies the entry wipes its copy at once.
    @discardableResult
    public func purge(nickname: String) throws -> PurgeOutcome {
        let site = try identity()
        return try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            try ensureServed(channel, in: tx)
            let body = try WireJSON.encodeCanonical(["by": site.siteID.text, "date": clock.nowText()])
            let entries = try ChangeLog(limits: limits).append([Change(entity: "purge", key: "channel", op: .put, body: body)],
                                                               to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
            // Queued rekeys and refreshes are moot now; the connections hear the purge instead.
            try tx.deleteMessages(channel: channel.rowID)
            try queueAnnouncement(.purge, channel: channel, site: site, connectionsOnly: true, in: tx)
            try tx.markPurged(channel: channel.rowID, at: clock.nowMilliseconds())
            let pending = try tx.outboxDepths(channel: channel.rowID).filter { $0.value > 0 }.count
            let wiped = try pending == 0 && tx.messageCount(channel: channel.rowID) == 0
            if wiped { try tx.wipeChannel(channel.rowID) }
            return PurgeOutcome(pendingLocations: pending, wiped: wiped)
        }
    }

    /// Refuses to write or serve a channel this site no longer carries: purged everywhere, or
    /// this site retired its location.
    func ensureServed(_ channel: ChannelRecord, in tx: StoreTransaction) throws {
        if channel.purgedAt != nil { throw EngineError.purged(channel.nickname) }
        if channel.bootstrap != nil { throw EngineError.bootstrapping(channel.nickname) }
        if try isRetired(channel, in: tx) { throw EngineError.retired(channel.nickname) }
    }

    /// `ensureServed` with the channel's locations already read (`locations(channel:in:)`).
    func ensureServed(_ channel: ChannelRecord, locations: [Location], me: SiteID) throws {
        if channel.purgedAt != nil { throw EngineError.purged(channel.nickname) }
        if channel.bootstrap != nil { throw EngineError.bootstrapping(channel.nickname) }
        if locations.first(where: { $0.siteID == me })?.deleted ?? false { throw EngineError.retired(channel.nickname) }
    }

    /// What follows from entries just applied, in the same transaction: a `purge` entry wipes the
    /// channel here (another site deleted it everywhere and delivers the entry itself); otherwise
    /// the channel moves to the key its rekeys agree on.
    func settle(_ channel: ChannelRecord, in tx: StoreTransaction, vouching: [ChangeEntry] = []) throws {
        guard let fresh = try tx.channel(rowID: channel.rowID) else { return }
        if fresh.purgedAt == nil, try tx.stateRow(channel: fresh.rowID, entity: "purge", key: "channel")?.op == .put {
            try tx.markPurged(channel: fresh.rowID, at: clock.nowMilliseconds())
            try tx.wipeChannel(fresh.rowID)
            return
        }
        try resolveKeys(of: fresh, in: tx, vouching: vouching)
    }

    /// The purging site wipes the channel once its outbox is empty (every location acknowledged)
    /// and its `purge` messages to connections are delivered or given up.
    func wipeIfDelivered(_ channel: Int64, in tx: StoreTransaction) throws {
        // On every acknowledgement: one look at two columns before reading the channel.
        guard try tx.isPurgedAndNotWiped(channel: channel), let record = try tx.channel(rowID: channel), record.purgedAt != nil, !record.isWiped,
              try tx.outboxDepths(channel: channel).values.reduce(0, +) == 0,
              try tx.messageCount(channel: channel) == 0 else { return }
        try tx.wipeChannel(channel)
    }
}
