import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// Entries of one origin this clone lacks, and the clones that reported holding them
/// (live ones first). Any clone can serve any origin's entries.
public struct CatchUpNeed: Sendable, Equatable {
    public var origin: OriginID
    /// Pull entries with `seq > after`.
    public var after: UInt64
    /// The highest seq of this origin that any clone reported or that we hold after a gap.
    public var through: UInt64
    public var sources: [Location]
}

extension Site {
    /// What to pull (DESIGN §5): for each origin, the entries past our vector that another clone
    /// reported (heartbeat vectors) or that a held entry shows exist.
    ///
    /// Not what the origin's own site is pushing: while the last message from the location whose
    /// writer is the origin carried entries of that writer, within `pushGrace` ms, and it is
    /// online, its outbox is delivering them in order, and pulling them too would fetch every
    /// entry twice. Its next heartbeat (its queue is empty), a gap below an entry held for
    /// `reorderGrace` (it does not have them queued), or `pushGrace` without news makes them due
    /// for a pull again.
    public func catchUpNeeds(channel nickname: String, pushGrace: UInt64 = 30_000) throws -> [CatchUpNeed] {
        let me = try identity().siteID
        return try store.read { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            return try catchUpNeeds(channel: channel, me: me, pushGrace: pushGrace, in: tx)
        }
    }

    /// How long a gap below entries held from a pushing origin is left to its push (ms).
    static let reorderGrace: UInt64 = 2_000

    /// `catchUpNeeds(channel:pushGrace:)` inside the caller's read (the delivery planner's).
    func catchUpNeeds(channel: ChannelRecord, me: SiteID, pushGrace: UInt64, in tx: StoreTransaction) throws -> [CatchUpNeed] {
        let vector = try tx.vector(channel: channel.rowID)
        let peers = try tx.peers(channel: channel.rowID)
        let locations = try Self.locations(channel: channel, in: tx).filter { !$0.deleted && $0.siteID != me }
        let held = try tx.pendingSeqs(channel: channel.rowID)
        var targets: [OriginID: UInt64] = [:]
        for peer in peers {
            // Never this site's own current writer: more of it elsewhere means this site was
            // restored from a backup, and it takes a new writer instead (docs/PROTOCOL.md §3.2).
            for (origin, seq) in peer.vector?.seqs ?? [:] where seq > vector[origin] && origin != channel.writer {
                targets[origin] = max(targets[origin] ?? 0, seq)
            }
        }
        for (origin, seqs) in held where origin != channel.writer {
            if let last = seqs.last, last > vector[origin] { targets[origin] = max(targets[origin] ?? 0, last) }
        }
        let byPeer = Dictionary(peers.map { ($0.siteID, $0) }, uniquingKeysWith: { a, _ in a })
        let now = clock.nowMilliseconds()
        let heldSince = held.isEmpty ? [:] : try tx.pendingSince(channel: channel.rowID)
        for location in locations {
            guard let peer = byPeer[location.siteID], !peer.offline, let pushed = peer.lastPushed, pushed == peer.lastHeard,
                  now < pushed.addingSaturating(pushGrace) else { continue }
            // Its writer's entries held here show a gap its push may not fill (a site restored
            // from a backup), unless the oldest was held a moment ago: packets in flight arrive
            // in any order, and the one before is most likely on its way.
            if held[location.writer] != nil, now >= (heldSince[location.writer] ?? 0).addingSaturating(Self.reorderGrace) { continue }
            targets[location.writer] = nil
        }
        // A clone whose last pull or delivery failed is left alone until its backoff ends.
        let ready = locations.filter { (byPeer[$0.siteID]?.nextAttempt ?? 0) <= now }
        return targets.sorted { $0.key < $1.key }.map { origin, through in
            // Clones that reported the entries first (online before offline), then any other live clone.
            let ranked = ready.sorted { a, b in
                func rank(_ l: Location) -> Int {
                    let p = byPeer[l.siteID]
                    let has = (p?.vector?[origin] ?? 0) > vector[origin]
                    return (has ? 0 : 2) + ((p?.offline ?? false) ? 1 : 0)
                }
                return (rank(a), a.siteID) < (rank(b), b.siteID)
            }
            return CatchUpNeed(origin: origin, after: vector[origin], through: through, sources: ranked)
        }.filter { !$0.sources.isEmpty }
    }

    /// Serves one page of `origin`'s entries after `after`, sealed to the requesting location's
    /// site and signed with the channel key.
    ///
    /// A page holds at most `limit` entries (capped by the wire limit) and at most `maxBytes` of
    /// entry bodies and keys, but always at least one entry when there is one, so it is bounded
    /// in bytes as well as in entries.
    ///
    /// `portableID` is the id the request named (a former one for a clone that has not applied a
    /// rekey yet): the page names it and is signed with the key behind it.
    public func servePage(channel: HostedChannel, as portableID: PortableID? = nil, to requester: Location, origin: OriginID, after: UInt64,
                          limit: Int, maxBytes: Int = 2 * 1024 * 1024) throws -> SealedPage {
        try servePage(channel: channel, as: portableID, toSite: requester.siteID, sealkey: requester.sealkey, origin: origin, after: after,
                      limit: limit, maxBytes: maxBytes)
    }

    /// A page sealed to the site `siteID` with X25519 key `sealkey` (a location, or a site
    /// bootstrapping a clone by ticket).
    public func servePage(channel: HostedChannel, as portableID: PortableID? = nil, toSite requesterID: SiteID, sealkey: String,
                          origin: OriginID, after: UInt64, limit: Int, maxBytes: Int = 2 * 1024 * 1024) throws -> SealedPage {
        let site = try identity()
        let pid = portableID ?? channel.portableID
        let keys = try self.keys(of: channel.record, named: pid)
        let cap = max(1, min(limit, limits.maxEntriesPerPacket))
        let (entries, vector, digest, rekeys) = try store.read { tx -> ([ChangeEntry], VersionVector, [UInt8], [ChangeEntry]) in
            let fresh = try tx.channel(rowID: channel.rowID) ?? channel.record
            return (try tx.entries(channel: channel.rowID, origin: origin, after: after, limit: cap + 1),
                    try tx.vector(channel: channel.rowID), fresh.digest, try Self.keyEntries(of: fresh, in: tx))
        }
        var taken: [ChangeEntry] = []
        var bytes = 0
        for entry in entries.prefix(cap) {
            let size = Self.wireSize(of: entry)
            if !taken.isEmpty && bytes + size > maxBytes { break }
            taken.append(entry)
            bytes += size
        }
        let page = SyncPage(channel: pid, from: site.siteID, origin: origin, after: after,
                            entries: taken, more: entries.count > taken.count, vector: vector,
                            digest: StateDigest(bytes: digest).hex, keys: rekeys.isEmpty ? nil : rekeys)
        let sealKey = try Base64URL.decode(sealkey, what: "sealkey of \(requesterID.text)", length: SealKeyPair.publicKeyLength)
        let binding = SyncPage.binding(channel: pid, server: site.siteID, requester: requesterID, origin: origin, after: after)
        let sealed = try SealedPayload.seal(try page.wireJSON(), to: sealKey, additionalData: binding, random: random)
        return SealedPage(channel: pid, siteID: site.siteID, origin: origin, after: after, data: sealed,
                          signature: keys.signatureText(over: Array(sealed.data.utf8)))
    }

    /// Opens a page this site asked `server` for, checking the channel signature, the binding
    /// to this exact request and that the page holds only what was asked for.
    public func openPage(_ answer: SealedPage, channel: HostedChannel, server: Location, origin: OriginID, after: UInt64) throws -> SyncPage {
        try openPage(answer, channel: channel, serverID: server.siteID, origin: origin, after: after)
    }

    public func openPage(_ answer: SealedPage, channel: HostedChannel, serverID: SiteID, origin: OriginID, after: UInt64) throws -> SyncPage {
        let site = try identity()
        guard answer.channel == channel.portableID, answer.siteID == serverID, answer.origin == origin, answer.after == after else {
            throw EngineError.notForThisSite("the page answers another request")
        }
        try SigningKeyPair.verify(signatureText: answer.signature, over: Array(answer.data.data.utf8), publicKey: channel.publicKey)
        let binding = SyncPage.binding(channel: channel.portableID, server: serverID, requester: site.siteID, origin: origin, after: after)
        let plain = try answer.data.open(with: site.seal, additionalData: binding)
        let page = try SyncPage.decodeWire(plain, what: "sync page", maxDepth: limits.maxJSONDepth)
        guard page.channel == channel.portableID, page.from == serverID, page.origin == origin, page.after == after,
              page.entries.allSatisfy({ $0.origin == origin && $0.seq > after }),
              (page.keys ?? []).allSatisfy({ $0.entity == "key" && $0.op == .put }), (page.keys ?? []).count <= 64 else {
            throw EngineError.notForThisSite("the page holds entries that were not asked for")
        }
        return page
    }

    /// An upper estimate of an entry's bytes on the wire: body and key (JSON escaping can at most
    /// double them) plus the fixed fields.
    static func wireSize(of entry: ChangeEntry) -> Int {
        2 * (entry.body.utf8.count + entry.key.utf8.count) + entry.entity.utf8.count + 200
    }

    /// Replays a pulled page and remembers what the serving clone reported, in one transaction.
    public func applyPage(_ page: SyncPage, channel: HostedChannel) throws -> ReplayReport {
        let checked = try ReplayEngine(limits: limits).check(page.entries)  // before the transaction, as in acceptSync
        return try store.write { tx in
            // The page's `key` entries replay with it (most are duplicates): they vouch for the keys
            // its `location` entries are signed with.
            let keys = try fittingKeys((page.keys ?? []).filter { key in !page.entries.contains { $0.id == key.id } },
                                       channel: try tx.channel(rowID: channel.rowID) ?? channel.record, in: tx)
            var pageLimits = limits
            pageLimits.maxEntriesPerPacket = limits.maxEntriesPerPacket + keys.count
            let report = try ReplayEngine(limits: pageLimits).apply(checked, plus: keys, to: channel.record, in: tx, now: clock.nowMilliseconds(),
                                                                    vouching: page.keys ?? [])
            _ = try recordReport(channel: channel.record, from: page.from, vector: page.vector, digest: page.digest, answering: true, in: tx)
            try settle(channel.record, in: tx, vouching: page.keys ?? [])
            return report
        }
    }

    /// Accepts a signed pull request from `requester`: records its token (refused if seen within
    /// `window` ms) and that the location was heard from, in one transaction.
    public func acceptPull(channel: HostedChannel, from requester: SiteID, token: String, window: UInt64 = 30 * 60 * 1000) throws {
        let now = clock.nowMilliseconds()
        try store.write { tx in
            try ensureServed(try tx.channel(rowID: channel.rowID) ?? channel.record, in: tx)
            guard try tx.recordToken(token, now: now, windowStart: now > window ? now - window : 0) else {
                throw EngineError.replayedToken(windowMinutes: window / 60_000)
            }
            _ = try recordReport(channel: channel.record, from: requester, vector: nil, digest: nil, answering: true, in: tx)
        }
    }
}
