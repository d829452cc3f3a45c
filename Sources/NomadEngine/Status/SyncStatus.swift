import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// How one clone of a channel is doing, seen from this site (DESIGN §5).
public enum CloneState: String, Sendable, Codable {
    case online
    case offline
    /// Entries are still on their way (to it, or to us when it is this clone).
    case catchingUp = "catching-up"
    /// Equal vectors but different digests, or a fork was seen: must never happen; alarm.
    case diverged
    /// It answers, but refused what this site last sent it (`last_error` says why: a bad
    /// signature, an unknown location, a replay…); retried with backoff.
    case refusing
}

/// One location in the status: its state, how far behind it is, what waits for it.
public struct LocationStatus: Sendable, Equatable, Codable {
    public var siteID: SiteID
    public var url: String
    public var address: String
    public var primary: Bool
    /// True for this site's own clone.
    public var isSelf: Bool
    public var state: CloneState
    /// Entries the clone lacks: for another location, what we hold beyond the vector it last
    /// reported; for this clone, what others reported beyond ours plus held entries.
    public var lagEntries: UInt64
    /// Entries waiting in our outbox for it.
    public var outbox: Int
    /// While catching up: the share of the entries known anywhere that the clone holds, 0–100
    /// (one decimal); nil otherwise.
    public var progress: Double?
    public var lastHeard: String?
    public var lastError: String?
    public var digest: String?
    public var vector: VersionVector?

    enum CodingKeys: String, CodingKey {
        case url, address, primary, state, outbox, digest, vector, progress
        case siteID = "site_id"
        case isSelf = "self"
        case lagEntries = "lag_entries"
        case lastHeard = "last_heard"
        case lastError = "last_error"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(siteID, forKey: .siteID)
        try c.encode(url, forKey: .url)
        try c.encode(address, forKey: .address)
        try c.encode(primary, forKey: .primary)
        try c.encode(isSelf, forKey: .isSelf)
        try c.encode(state, forKey: .state)
        try c.encode(progress, forKey: .progress)
        try c.encode(lagEntries, forKey: .lagEntries)
        try c.encode(outbox, forKey: .outbox)
        try c.encode(lastHeard, forKey: .lastHeard)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(digest, forKey: .digest)
        try c.encode(vector, forKey: .vector)
    }
}

/// What `GET /api/v1/channels/{nick}` and `nomadsync status NICK --json` print.
public struct SyncStatus: Sendable, Equatable, Codable {
    public var nickname: String
    public var portableID: PortableID
    public var digest: String
    public var vector: VersionVector
    public var entries: Int
    public var held: Int
    public var outbox: Int
    public var diverged: String?
    /// This site retired its location of the channel: the rows show the clones as last heard.
    public var retired: Bool
    /// The channel was deleted everywhere; this site still delivers the `purge` entry (the
    /// outbox), then wipes it. A wiped channel has no status: 410.
    public var purged: Bool
    /// `rekey pending`: the channel's agreed key (its portable_id) that this site cannot open yet,
    /// because it lacks a rekey before it; until then it signs with the key it has.
    public var rekeyPending: PortableID?
    /// Former portable_ids a rekey linked (still valid).
    public var linkedIDs: [PortableID]
    /// `rekey`, `refresh` and `purge` messages queued for locations and connections.
    public var messages: Int
    /// Blobs the channel's `file` entries name that this site does not hold yet.
    public var missingBlobs: Int
    public var locations: [LocationStatus]

    enum CodingKeys: String, CodingKey {
        case nickname, digest, vector, entries, held, outbox, diverged, retired, purged, locations, messages
        case missingBlobs = "missing_blobs"
        case portableID = "portable_id"
        case rekeyPending = "rekey_pending"
        case linkedIDs = "linked_ids"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nickname, forKey: .nickname)
        try c.encode(portableID, forKey: .portableID)
        try c.encode(digest, forKey: .digest)
        try c.encode(vector, forKey: .vector)
        try c.encode(entries, forKey: .entries)
        try c.encode(held, forKey: .held)
        try c.encode(outbox, forKey: .outbox)
        try c.encode(diverged, forKey: .diverged)
        try c.encode(retired, forKey: .retired)
        try c.encode(purged, forKey: .purged)
        try c.encode(rekeyPending, forKey: .rekeyPending)
        try c.encode(linkedIDs, forKey: .linkedIDs)
        try c.encode(messages, forKey: .messages)
        try c.encode(missingBlobs, forKey: .missingBlobs)
        try c.encode(locations, forKey: .locations)
    }
}

extension Site {
    /// The channel's clones and how each is doing, from one read snapshot.
    public func syncStatus(nickname: String) throws -> SyncStatus {
        let blobs = self.blobs
        return try store.read { tx in
            guard let me = try tx.site() else { throw EngineError.siteNotInitialised }
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            guard !channel.isWiped else { throw EngineError.purged(nickname) }
            let vector = try tx.vector(channel: channel.rowID)
            let digest = StateDigest(bytes: channel.digest).hex
            let held = try tx.pendingCount(channel: channel.rowID)
            let depths = try tx.outboxDepths(channel: channel.rowID)
            let peers = Dictionary(try tx.peers(channel: channel.rowID).map { ($0.siteID, $0) }, uniquingKeysWith: { a, _ in a })
            var best = VersionVector()
            for peer in peers.values { for (o, s) in peer.vector?.seqs ?? [:] { best[o] = max(best[o], s) } }
            let reportedAhead = best.entriesAhead(of: vector)
            var rows: [LocationStatus] = []
            for loc in try Self.locations(channel: channel, in: tx) where !loc.deleted {
                if loc.siteID == me.siteID {
                    let lag = reportedAhead.addingSaturating(UInt64(clamping: held))
                    let state: CloneState = channel.diverged != nil ? .diverged : (lag > 0 ? .catchingUp : .online)
                    let have = vector.entriesAhead(of: VersionVector())
                    rows.append(LocationStatus(siteID: loc.siteID, url: loc.url, address: loc.address, primary: loc.primary, isSelf: true,
                                               state: state, lagEntries: lag, outbox: 0,
                                               progress: state == .catchingUp ? Self.percent(have, of: have.addingSaturating(lag)) : nil,
                                               lastHeard: nil, lastError: nil, digest: digest, vector: vector))
                    continue
                }
                let peer = peers[loc.siteID]
                let theirs = peer?.vector ?? VersionVector()
                let lag = vector.entriesAhead(of: theirs)
                let queued = depths[loc.siteID] ?? 0
                let state: CloneState
                if let peer, peer.vector == vector, let d = peer.digest, d != digest {
                    state = .diverged
                } else if peer?.offline ?? false {
                    state = .offline
                } else if peer?.lastError != nil {
                    state = .refusing
                } else if lag > 0 || queued > 0 {
                    state = .catchingUp
                } else {
                    state = .online
                }
                rows.append(LocationStatus(siteID: loc.siteID, url: loc.url, address: loc.address, primary: loc.primary, isSelf: false,
                                           state: state, lagEntries: lag, outbox: queued,
                                           progress: state == .catchingUp ? Self.percent(theirs.entriesAhead(of: VersionVector()),
                                                                                         of: vector.entriesAhead(of: VersionVector())) : nil,
                                           lastHeard: peer?.lastHeard.map(Self.timestampText), lastError: peer?.lastError,
                                           digest: peer?.digest, vector: peer?.vector))
            }
            return SyncStatus(nickname: channel.nickname, portableID: channel.portableID, digest: digest, vector: vector,
                              entries: try tx.entryCount(channel: channel.rowID), held: held,
                              outbox: depths.values.reduce(0, +), diverged: channel.diverged,
                              retired: try isRetired(channel, in: tx), purged: channel.purgedAt != nil, rekeyPending: try pendingKey(of: channel, in: tx),
                              linkedIDs: try tx.formerKeys(channel: channel.rowID).filter(\.valid).map(\.portableID).sorted(),
                              messages: try tx.messageCount(channel: channel.rowID),
                              missingBlobs: Set(try tx.stateRows(channel: channel.rowID, entity: "file").compactMap { row -> String? in
                                  guard row.op == .put, let hex = FileReference.parse(row.body)?.hex, !blobs.has(hex) else { return nil }
                                  return hex
                              }).count, locations: rows.sorted { ($0.isSelf ? 0 : 1, $0.url) < ($1.isSelf ? 0 : 1, $1.url) })
        }
    }

    /// `part` of `whole` as a percentage with one decimal, at most 100.
    static func percent(_ part: UInt64, of whole: UInt64) -> Double {
        guard whole > 0 else { return 100 }
        return (min(Double(part) / Double(whole), 1) * 1000).rounded(.down) / 10
    }

    /// ISO 8601 in UTC with milliseconds, as `WallClock.nowText` writes (a format style: making
    /// an `ISO8601DateFormatter` for every timestamp was a visible share of a status's cost).
    static func timestampText(_ ms: UInt64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000)
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
