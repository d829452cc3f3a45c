import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A blob a `file` entry names that this site lacks, with the clones to fetch it from.
public struct BlobNeed: Sendable, Equatable {
    public var hex: String
    /// The size the `file` entry states, if it does.
    public var size: UInt64?
    /// Other live locations, in the order to try them.
    public var sources: [Location]
}

extension Site {
    /// The largest blob this site accepts or fetches: 4 GiB.
    public static let maxBlobBytes: UInt64 = 4 << 30

    /// This site's blob files (`DATA/blobs`).
    public var blobs: BlobStore { BlobStore(directory: store.directory) }

    /// Stores the bytes a writer took (already named by their hash) as a `file` entry of the
    /// channel under `key`, with their size and `name`, queued for every clone like any change.
    @discardableResult
    public func addFile(nickname: String, key: String, hex: String, size: UInt64, name: String?) throws -> ChangeEntry {
        guard blobs.size(hex) == size else { throw EngineError.invalidArgument("blob \(hex) is not stored here with \(size) bytes") }
        let body = try WireJSON.encodeCanonical(FileReference(hex: hex, size: size, name: name))
        guard let entry = try append(nickname: nickname, [Change(entity: "file", key: key, op: .put, body: body)]).first else {
            throw EngineError.invalidArgument("nothing was written")
        }
        return entry
    }

    /// The blobs the channel's live `file` entries name that are not here, each with the clones
    /// to try; with `dueOnly`, those whose backoff after a failed fetch has passed.
    ///
    /// The delivery worker asks with `dueOnly` after every pass over every channel. Looking means
    /// reading every `file` row of the channel and looking for each blob on disk, so once a look
    /// found nothing missing, the next ones answer at once while no `file` entry came into the
    /// log since (one probe of the new entries), for up to `blobRescanMilliseconds`: a blob
    /// removed from disk by hand is found missing again within that time.
    public func missingBlobs(nickname: String, dueOnly: Bool = false) throws -> [BlobNeed] {
        let store = blobs
        let now = clock.nowMilliseconds()
        let me = try identity().siteID
        // One read; the clones are looked up only when a blob is missing.
        return try self.store.read { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            let head = try tx.lastPosition(channel: channel.rowID)
            if dueOnly, let last = blobScans.nothingMissing(channel: channel.rowID, asOf: now, within: Self.blobRescanMilliseconds) {
                if last == head { return [] }
                if head > last, try !tx.hasEntry(channel: channel.rowID, entity: "file", afterPosition: last) {
                    blobScans.advance(channel: channel.rowID, to: head)
                    return []
                }
            }
            var seen = Set<String>()
            var missing: [FileReference] = []
            var anyMissing = false
            for row in try tx.stateRows(channel: channel.rowID, entity: "file") where row.op == .put {
                guard let reference = FileReference.parse(row.body), seen.insert(reference.hex).inserted,
                      !store.has(reference.hex) else { continue }
                anyMissing = true
                if dueOnly, let fetch = try tx.blobFetch(reference.hex), fetch.nextAt > now { continue }
                missing.append(reference)
            }
            blobScans.looked(channel: channel.rowID, upTo: head, at: now, nothingMissing: !anyMissing)
            guard !missing.isEmpty else { return [] }
            let sources = try Self.locations(channel: channel, in: tx).filter { !$0.deleted && $0.siteID != me }
            return missing.map { BlobNeed(hex: $0.hex, size: $0.size, sources: sources) }
        }
    }

    /// How long a look that found no blob missing stands while no `file` entry comes: 10 minutes.
    public static let blobRescanMilliseconds: UInt64 = 600_000

    /// A fetch of `hex` ended: kept (its record goes), or failed (tried again after the backoff).
    public func blobFetched(_ hex: String, error: String?, backoff: Backoff = Backoff()) throws {
        let now = clock.nowMilliseconds()
        try store.write { tx in
            guard let error else { return try tx.deleteBlobFetch(hex) }
            let attempts = (try tx.blobFetch(hex)?.attempts ?? 0) + 1
            try tx.putBlobFetch(BlobFetchRecord(hex: hex, attempts: attempts, nextAt: now + backoff.delay(afterAttempts: attempts, random: random),
                                                lastError: String(error.prefix(500))))
        }
    }

    /// Whether the channel's live `file` entries name `hex` (only those blobs are served).
    public func channelNames(blob hex: String, channel: HostedChannel) throws -> Bool {
        try store.read { tx in
            try tx.stateRows(channel: channel.rowID, entity: "file").contains { $0.op == .put && FileReference.parse($0.body)?.hex == hex }
        }
    }
}
