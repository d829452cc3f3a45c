import Foundation
import NomadCrypto
import NomadModel
import NomadStore

// The outbox (DESIGN §5). Every local change is queued for every other live location in the
// transaction that appends it (`queueForPeers`), so it survives a crash or restart. A packet
// leaves the outbox only when the receiver acknowledges it (`acknowledged`); any failure
// retries with backoff (`deliveryFailed`); a location whose every URL failed is offline until
// something is heard from it (`recordReport`), which makes its queue due at once.
// `DeliveryPlanner` decides when each of these happens.

/// A packet ready to go to one location: the sealed envelope and the outbox positions it carries.
public struct OutboundPacket: Sendable {
    public var envelope: Envelope
    public var location: Location
    public var positions: [Int64]
    public var entryCount: Int { positions.count }
    /// This packet took everything queued for its location, in a snapshot of the store taken
    /// after this many write transactions of this process had committed (`Store.commits`); nil
    /// when more was left. Until this process commits again, nothing can follow it.
    var drainedAsOfCommits: UInt64?
}

/// The store rows packets are built from (`Site.packetRows`), read in one snapshot.
struct PacketRows {
    var channel: ChannelRecord
    var locations: [Location]
    /// The entries queued for each location, in `locations`' order.
    var queues: [[QueuedEntry]]
    var vector: VersionVector
    var rekeys: [ChangeEntry]
    var limit: Int
    /// `Store.commits` read just before the snapshot.
    var commitsSeen: UInt64
}

/// Another location of a channel with its delivery state and whether entries are queued for it.
struct DeliveryTarget: Sendable {
    var location: Location
    var peer: PeerRecord
    var queued: Bool
}

/// What `DeliveryPlanner.plan` reads for one channel (`Site.deliveryInputs`).
struct DeliveryInputs: Sendable {
    /// This site no longer carries the channel on (its location retired, or the channel purged).
    var retired: Bool
    /// The other live locations.
    var targets: [DeliveryTarget]
    /// What to pull (none when retired).
    var needs: [CatchUpNeed]
}

extension Site {
    /// Queues `entries` (already appended) for every other live location of the channel.
    /// Their log positions are read once (a range per run of consecutive seqs of an origin), then
    /// each location's queue takes them as runs.
    func queueForPeers(_ entries: [ChangeEntry], channel: ChannelRecord, siteID: SiteID, in tx: StoreTransaction) throws {
        let peers = try Self.locations(channel: channel, in: tx).filter { !$0.deleted && $0.siteID != siteID }
        guard !peers.isEmpty, !entries.isEmpty else { return }
        var positions: [Int64] = []
        for (origin, seqs) in Self.seqRuns(of: entries) {
            positions += try tx.positions(channel: channel.rowID, origin: origin, seqs: seqs)
        }
        for peer in peers { try tx.enqueue(channel: channel.rowID, positions: positions, for: peer.siteID) }
    }

    /// The entries' seqs as runs of consecutive seqs per origin, in the entries' order.
    static func seqRuns(of entries: [ChangeEntry]) -> [(origin: OriginID, seqs: ClosedRange<UInt64>)] {
        var runs: [(origin: OriginID, seqs: ClosedRange<UInt64>)] = []
        for entry in entries {
            if let last = runs.last, last.origin == entry.origin, !last.seqs.upperBound.addingReportingOverflow(1).overflow,
               entry.seq == last.seqs.upperBound + 1 {
                runs[runs.count - 1].seqs = last.seqs.lowerBound...entry.seq
            } else {
                runs.append((entry.origin, entry.seq...entry.seq))
            }
        }
        return runs
    }

    /// What one channel's delivery plan reads (`DeliveryPlanner.plan`), from one snapshot of the
    /// store: whether this site still carries the channel on, the other live locations with their
    /// delivery state and queue depth, and what to pull. One read instead of one per question:
    /// planning is on the path of every change a clone sends.
    func deliveryInputs(channel: HostedChannel, pushGrace: UInt64) throws -> DeliveryInputs {
        try deliveryInputs(channel: channel, pushGrace: pushGrace, maxEntries: nil) { _ in [] }.inputs
    }

    /// `deliveryInputs`, and in the same snapshot the rows of the packets for the locations
    /// `choose` picks from them (nil when it picks none): a plan reads the store once.
    func deliveryInputs(channel: HostedChannel, pushGrace: UInt64, maxEntries: Int?,
                        packetsTo choose: (DeliveryInputs) -> [Location]) throws -> (inputs: DeliveryInputs, rows: PacketRows?) {
        let me = try identity().siteID
        let limit = packetLimit(maxEntries)
        let commitsSeen = store.commits.count  // before the snapshot (see OutboundPacket.drainedAsOfCommits)
        return try store.read { tx in
            // Gone since the pass read it: nothing to deliver.
            guard let fresh = try tx.channel(rowID: channel.rowID) else { return (DeliveryInputs(retired: true, targets: [], needs: []), nil) }
            let locations = try Self.locations(channel: fresh, in: tx)
            // Retired (its own location deleted) or purged: it only delivers what is still queued.
            let retired = fresh.purgedAt != nil || (locations.first { $0.siteID == me }?.deleted ?? false)
            let peers = Dictionary(try tx.peers(channel: fresh.rowID).map { ($0.siteID, $0) }, uniquingKeysWith: { a, _ in a })
            let targets = try locations.filter { !$0.deleted && $0.siteID != me }.map { loc in
                DeliveryTarget(location: loc, peer: peers[loc.siteID] ?? PeerRecord(siteID: loc.siteID),
                               queued: try tx.hasQueued(channel: fresh.rowID, for: loc.siteID))
            }
            let needs = retired ? [] : try catchUpNeeds(channel: fresh, me: me, pushGrace: pushGrace, in: tx)
            let inputs = DeliveryInputs(retired: retired, targets: targets, needs: needs)
            let chosen = choose(inputs)
            guard !chosen.isEmpty else { return (inputs, nil) }
            return (inputs, try packetRows(of: fresh, to: chosen, after: 0, limit: limit, commitsSeen: commitsSeen, in: tx))
        }
    }

    /// The next packet for `location`: the oldest queued entries (after outbox position `after`,
    /// the last one of a packet still in flight), at most `maxEntries` and under `maxBytes` of
    /// entry bodies, with our vector and digest. With nothing queued it is a heartbeat (no entries).
    public func nextPacket(channel nickname: String, to location: Location, after: Int64 = 0, maxEntries: Int? = nil,
                           maxBytes: Int = 2 * 1024 * 1024) throws -> OutboundPacket {
        guard let packet = try nextPackets(channel: nickname, to: [location], after: after, maxEntries: maxEntries, maxBytes: maxBytes).first
        else { throw EngineError.channelNotFound(nickname) }  // unreachable: one packet per location
        return packet
    }

    /// `nextPacket` for several locations of one channel, read from one snapshot of the store
    /// (each is still sealed to its own site). With `heartbeats` false, a location with nothing
    /// queued gets no packet (nothing is sealed for it).
    func nextPackets(channel nickname: String, to locations: [Location], after: Int64 = 0, maxEntries: Int? = nil,
                     maxBytes: Int = 2 * 1024 * 1024, heartbeats: Bool = true) throws -> [OutboundPacket] {
        let limit = packetLimit(maxEntries)
        // Read before the snapshot: a commit the snapshot misses ends after this, and moves it.
        let commitsSeen = store.commits.count
        let rows = try store.read { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            return try packetRows(of: channel, to: locations, after: after, limit: limit, commitsSeen: commitsSeen, in: tx)
        }
        return try packets(from: rows, maxBytes: maxBytes, heartbeats: heartbeats)
    }

    /// At most this many entries in one packet: the caller's cap within the wire limit.
    func packetLimit(_ maxEntries: Int?) -> Int { min(maxEntries ?? limits.maxEntriesPerPacket, limits.maxEntriesPerPacket) }

    /// What packets to `locations` are built from, read inside the caller's transaction: the
    /// oldest entries queued for each (after outbox position `after`, at most `limit`), the
    /// channel's vector, and its `key` entries.
    func packetRows(of channel: ChannelRecord, to locations: [Location], after: Int64, limit: Int, commitsSeen: UInt64,
                    in tx: StoreTransaction) throws -> PacketRows {
        // A rekeyed channel signs with its new key: every packet carries the `key` entries,
        // so a clone that has not applied them yet can tell the new id is this channel's.
        let rekeys = try Self.keyEntries(of: channel, in: tx)
        let queues = try locations.map { try tx.queued(channel: channel.rowID, for: $0.siteID, after: after, limit: limit) }
        return PacketRows(channel: channel, locations: locations, queues: queues, vector: try tx.vector(channel: channel.rowID),
                          rekeys: rekeys, limit: limit, commitsSeen: commitsSeen)
    }

    /// Builds and seals the packets `rows` were read for (no store access): each takes its
    /// location's queued entries up to `maxBytes` of bodies. With `heartbeats` false, a location
    /// with nothing queued gets no packet.
    func packets(from rows: PacketRows, maxBytes: Int, heartbeats: Bool) throws -> [OutboundPacket] {
        let site = try identity()
        let (channel, vector, rekeys, limit, commitsSeen) = (rows.channel, rows.vector, rows.rekeys, rows.limit, rows.commitsSeen)
        return try zip(rows.locations, rows.queues).compactMap { location, queued -> OutboundPacket? in
            if queued.isEmpty && !heartbeats { return nil }
            var taken: [QueuedEntry] = []
            var bytes = 0
            for q in queued {
                let size = Self.wireSize(of: q.entry)
                if !taken.isEmpty && bytes + size > maxBytes { break }
                taken.append(q)
                bytes += size
            }
            let carried = rekeys.filter { key in !taken.contains { $0.entry.id == key.id } }
            let data = SyncData(channel: channel.portableID, from: site.siteID, entries: taken.map(\.entry), vector: vector,
                                digest: StateDigest(bytes: channel.digest).hex, keys: carried.isEmpty ? nil : carried)
            let sealKey = try Base64URL.decode(location.sealkey, what: "sealkey of \(location.siteID.text)", length: SealKeyPair.publicKeyLength)
            let binding = Envelope.binding(type: .sync, sender: channel.portableID, siteID: site.siteID, recipientSiteID: location.siteID)
            let payload = try SealedPayload.seal(try data.wireJSON(), to: sealKey, additionalData: binding, random: random)
            let envelope = Envelope(type: .sync, sender: channel.portableID, siteID: site.siteID, recipients: [channel.portableID], data: payload)
            let drained = queued.count < limit && taken.count == queued.count
            return OutboundPacket(envelope: envelope, location: location, positions: taken.map(\.position),
                                  drainedAsOfCommits: drained ? commitsSeen : nil)
        }
    }

    /// Of the `key` entries another site carried along (a packet's or a page's `keys`, a 410
    /// answer's), those that fit here: verified rekeys of other writers than this site's current
    /// one, not held, not voided, and at a place no other entry holds. A carried key entry is
    /// never a reason to refuse a packet.
    func fittingKeys(_ carried: [ChangeEntry], channel: ChannelRecord, in tx: StoreTransaction) throws -> [ChangeEntry] {
        var fitting: [ChangeEntry] = []
        for entry in carried.prefix(64) where entry.entity == "key" && entry.op == .put && entry.origin != channel.writer {
            guard (try? entry.validate(limits: limits)) != nil,
                  (try? KeyChain.step(of: entry, guid: channel.guid)) != nil,
                  try !tx.holds(channel: channel.rowID, entry), try !tx.isVoided(channel: channel.rowID, entryID: entry.id),
                  try tx.entryID(channel: channel.rowID, origin: entry.origin, seq: entry.seq) == nil,
                  try tx.pendingID(channel: channel.rowID, origin: entry.origin, seq: entry.seq) == nil,
                  entry.seq > (try tx.vector(channel: channel.rowID))[entry.origin] else { continue }
            fitting.append(entry)
        }
        return fitting
    }

    /// The channel's `key` entries, applied and held (none unless it was rekeyed).
    static func keyEntries(of channel: ChannelRecord, in tx: StoreTransaction) throws -> [ChangeEntry] {
        try tx.stateRows(channel: channel.rowID, entity: "key").compactMap { try tx.documentEntry(channel: channel.rowID, entryID: $0.entryID) }
            + tx.pendingEntries(channel: channel.rowID, entity: "key")
    }

    /// The earliest time after now that a channel message, a webhook post or a blob fetch that
    /// failed is due again (nil: none waits). The delivery worker wakes for it, so an idle node
    /// needs no periodic pass to find its retries.
    public func nextRetry() throws -> UInt64? {
        let now = clock.nowMilliseconds()
        return try store.read { try $0.nextRetry(after: now) }
    }

    /// The receiver acknowledged a packet: its entries leave the outbox and the location is
    /// online. Returns whether it had been offline and whether entries stay queued for it.
    @discardableResult
    func acknowledged(channel: HostedChannel, siteID: SiteID, positions: [Int64]) throws -> (wasOffline: Bool, more: Bool) {
        let now = clock.nowMilliseconds()
        return try store.write { tx in
            try tx.dequeue(channel: channel.rowID, for: siteID, positions: positions)
            let wasOffline = try tx.markDelivered(channel: channel.rowID, siteID: siteID, at: now)
            let more = try tx.hasQueued(channel: channel.rowID, for: siteID)
            try wipeIfDelivered(channel.rowID, in: tx)
            return (wasOffline, more)
        }
    }

    /// A delivery failed: retry later with backoff. `unreachable` means no URL of the location
    /// answered at all, which makes it offline. Returns when the next attempt is due.
    @discardableResult
    func deliveryFailed(channel: HostedChannel, siteID: SiteID, reason: String, unreachable: Bool,
                               backoff: Backoff = Backoff()) throws -> UInt64 {
        let now = clock.nowMilliseconds()
        return try store.write { tx in
            var peer = try tx.peer(channel: channel.rowID, siteID: siteID) ?? PeerRecord(siteID: siteID)
            peer.attempts += 1
            peer.nextAttempt = now + backoff.delay(afterAttempts: peer.attempts, random: random)
            peer.offline = unreachable
            peer.lastError = String(reason.prefix(500))
            try tx.putPeer(channel: channel.rowID, peer)
            return peer.nextAttempt
        }
    }

    /// Something signed arrived from `siteID`: it is online, its queue is due at once, and we
    /// remember the vector and digest it reported.
    @discardableResult
    public func heard(channel: HostedChannel, from siteID: SiteID, vector: VersionVector?, digest: String?) throws -> DivergenceChange {
        try store.write { tx in try recordReport(channel: channel.record, from: siteID, vector: vector, digest: digest, in: tx) }
    }

    /// `heard` inside the caller's transaction (the one that accepted the packet). With a vector
    /// and digest it also compares them with ours: equal vectors with different digests mean
    /// the clones hold different entries under the same places — the `diverged` alarm.
    /// `pushed`: the message carried entries of the sender's own writer (see `catchUpNeeds`).
    /// `answering`: it answered a request of this site's or made one (a pulled page, a pull),
    /// which says nothing of whether its site is pushing: a site that was pushing still is.
    func recordReport(channel: ChannelRecord, from siteID: SiteID, vector: VersionVector?, digest: String?, pushed: Bool = false,
                      answering: Bool = false, in tx: StoreTransaction) throws -> DivergenceChange {
        var news = false
        return try recordReport(channel: channel, from: siteID, vector: vector, digest: digest, pushed: pushed, answering: answering,
                                news: &news, in: tx)
    }

    /// `recordReport`, also saying whether it changed anything a delivery plan reads (`news`):
    /// a new location, its backoff or offline mark, its vector, digest or pushing, the alarm.
    func recordReport(channel: ChannelRecord, from siteID: SiteID, vector: VersionVector?, digest: String?, pushed: Bool = false,
                      answering: Bool = false, news: inout Bool, in tx: StoreTransaction) throws -> DivergenceChange {
        let before = try tx.peer(channel: channel.rowID, siteID: siteID)
        var peer = before ?? PeerRecord(siteID: siteID)
        if peer.offline || peer.attempts > 0 {
            peer.offline = false
            peer.attempts = 0
            peer.nextAttempt = 0
        }
        let wasPushing = peer.lastPushed != nil && peer.lastPushed == peer.lastHeard
        peer.lastHeard = clock.nowMilliseconds()
        if pushed || (answering && wasPushing) { peer.lastPushed = peer.lastHeard }
        if let vector { peer.vector = vector }
        if let digest { peer.digest = digest }
        try tx.putPeer(channel: channel.rowID, peer)
        news = !(before?.plansLike(peer) ?? false)
        guard let vector, let digest, let current = try tx.channel(rowID: channel.rowID),
              try tx.vector(channel: current.rowID) == vector else { return .unchanged }
        let ours = StateDigest(bytes: current.digest).hex
        if digest != ours, current.diverged == nil {
            try tx.setDiverged(channel: current.rowID, reason: "site \(siteID.text) holds the same entries by vector but its digest is \(digest.prefix(16))…, ours \(ours.prefix(16))…")
            news = true
            return .diverged
        }
        if digest == ours, current.diverged != nil {
            try tx.setDiverged(channel: current.rowID, reason: nil)
            news = true
            return .cleared
        }
        return .unchanged
    }
}

/// How a report from another clone changed the `diverged` alarm.
public enum DivergenceChange: Sendable, Equatable {
    case unchanged
    /// Equal vectors, different digests: raised now (log it once, at error level).
    case diverged
    /// A clone with an equal vector reported an equal digest: the alarm is over.
    case cleared
}

extension PeerRecord {
    /// Whether a delivery plan reads the same from both: the times a location last heard from
    /// us or we from it aside (the delivery worker keeps its own time for the next heartbeat).
    func plansLike(_ other: PeerRecord) -> Bool {
        siteID == other.siteID && offline == other.offline && attempts == other.attempts && nextAttempt == other.nextAttempt
            && vector == other.vector && digest == other.digest && lastPushed == other.lastPushed
    }

    /// Something we sent was acknowledged at `now`: the location is online, its backoff is over,
    /// and the heartbeat interval starts again.
    mutating func delivered(at now: UInt64) {
        offline = false
        attempts = 0
        nextAttempt = 0
        lastDelivered = now
        lastError = nil
    }
}
