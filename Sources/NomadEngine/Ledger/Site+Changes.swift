import NomadCrypto
import NomadModel
import NomadStore

extension Site {
    /// Entities only nomadsync writes (DESIGN §3): a clone's `location`, rekey `key` and `link`,
    /// and `inbound` messages. `append` refuses them, so no local change can forge a location.
    static let serviceEntities: Set<String> = ["location", "key", "link", "inbound", "purge"]

    /// Appends local changes in one transaction; all are validated before any is written.
    @discardableResult
    public func append(nickname: String, _ changes: [Change]) throws -> [ChangeEntry] {
        try append(nickname: nickname, changes, also: nil)
    }

    /// `append`, with the channel's state digest (hex) as it stands right after it, read in the
    /// same transaction (no other write falls between): what the admin API answers, without a
    /// read of its own.
    public func appendReportingDigest(nickname: String, _ changes: [Change]) throws -> (entries: [ChangeEntry], digest: String) {
        var digest: String?
        let entries = try append(nickname: nickname, changes, also: { entries, tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            digest = StateDigest(bytes: channel.digest).hex
        })
        guard let digest else { throw EngineError.channelNotFound(nickname) }  // unreachable: `also` ran or append threw
        return (entries, digest)
    }

    /// `append`, running `also` with the new entries inside the same transaction.
    func append(nickname: String, _ changes: [Change], also: ((([ChangeEntry], StoreTransaction) throws -> Void))?) throws -> [ChangeEntry] {
        if let index = changes.firstIndex(where: { Self.serviceEntities.contains($0.entity) }) {
            throw EngineError.invalidChange(index: index, reason: "entity '\(changes[index].entity)' is written by nomadsync itself, never by hand or by the paired server (use the channel commands)")
        }
        if let index = changes.firstIndex(where: { $0.entity == "file" && $0.op == .put && FileReference.parse($0.body) == nil }) {
            throw EngineError.invalidChange(index: index, reason: #"a file body must name its bytes: {"hash":"sha256://<64 hex digits>", "size": n, "name": "…"} (store them first with `nomadsync blob put` or PUT /api/v1/channels/{nick}/blobs)"#)
        }
        return try store.write { tx in
            guard let me = try tx.site() else { throw EngineError.siteNotInitialised }
            let channel = try writableChannel(nickname: nickname, in: tx)
            // Deleting a live connection unfriends it: it gets a `purge` naming it (Zot6).
            let unfriended = try changes.filter { $0.entity == "connection" && $0.op == .delete }.compactMap { change -> (PortableID, String?)? in
                guard let id = try? PortableID(validating: change.key),
                      let row = try tx.stateRow(channel: channel.rowID, entity: "connection", key: change.key), row.op == .put else { return nil }
                return (id, Self.connectionURL(row.body))
            }
            let entries = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: me.siteID, in: tx)
            for (id, url) in unfriended { try queueUnfriend(id, url: url, channel: channel, in: tx) }
            try also?(entries, tx)
            return entries
        }
    }

    /// The channel a local write goes to, inside `tx`: still served here, and writing under a
    /// writer no clone reports ahead of this site's log. If one does, this site was restored
    /// from a backup and takes a new writer first (docs/PROTOCOL.md §3.2): no seq is reused.
    func writableChannel(_ channel: ChannelRecord, in tx: StoreTransaction) throws -> ChannelRecord {
        try ensureServed(channel, in: tx)
        guard try staleWriterCause(channel: channel, in: tx) != nil else { return channel }
        return try rotateWriter(channel: channel, site: try identity(in: tx), in: tx).channel
    }

    func writableChannel(nickname: String, in tx: StoreTransaction) throws -> ChannelRecord {
        guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
        return try writableChannel(channel, in: tx)
    }

    /// Replays entries from other clones in one transaction; a refused batch (a fork among
    /// them) changes nothing.
    public func replay(nickname: String, _ entries: [ChangeEntry], limits overrideLimits: WireLimits? = nil) throws -> ReplayReport {
        return try replay(channel: try channel(nickname: nickname), entries, limits: overrideLimits ?? limits)
    }

    public func replay(channel: HostedChannel, _ entries: [ChangeEntry], limits: WireLimits? = nil) throws -> ReplayReport {
        let limits = limits ?? self.limits
        return try store.write { tx in
            let report = try ReplayEngine(limits: limits).apply(entries, to: channel.record, in: tx, now: clock.nowMilliseconds())
            try settle(channel.record, in: tx)
            return report
        }
    }

    /// Replays a stream of entries handed over batch by batch (`next` returns nil at the end)
    /// in one transaction: all of it is applied or, when any batch is refused or `next` throws,
    /// none of it, while only one batch is in memory at a time (`nomadsync log apply` of a log
    /// of any length). The report counts the whole stream; `held` is what is still held at the
    /// end, `missing` and `digest` are as of the end, and the applied entries are not kept.
    ///
    /// ```swift
    /// var reader = try JSONLinesReader<ChangeEntry>(path: "a.jsonl", what: "entry")
    /// let report = try site.replay(nickname: "alice") { try reader.next(500) }
    /// ```
    public func replay(nickname: String, limits overrideLimits: WireLimits? = nil,
                       batches next: () throws -> [ChangeEntry]?) throws -> ReplayReport {
        let channel = try channel(nickname: nickname)
        let engine = ReplayEngine(limits: overrideLimits ?? limits)
        return try store.write { tx in
            let heldBefore = try tx.pendingCount(channel: channel.rowID)
            var total = ReplayReport()
            while let batch = try next() {
                guard let record = try tx.channel(rowID: channel.rowID) else { throw EngineError.channelNotFound(nickname) }
                let report = try engine.apply(batch, to: record, in: tx, now: clock.nowMilliseconds())
                total.applied += report.applied
                total.duplicate += report.duplicate
                total.missing = report.missing
                total.digest = report.digest
            }
            if let record = try tx.channel(rowID: channel.rowID) {
                try settle(record, in: tx)
                if total.digest.isEmpty { total.digest = StateDigest(bytes: record.digest).hex }
            }
            total.held = max(0, try tx.pendingCount(channel: channel.rowID) - heldBefore)
            return total
        }
    }

    /// The log a page at a time, in arrival order (or one origin's entries after a seq), each
    /// page read in its own read transaction: memory stays flat in the length of the log.
    public func forEachLogPage(nickname: String, origin: OriginID? = nil, after seq: UInt64 = 0, pageSize: Int = 1_000,
                               _ body: ([ChangeEntry]) throws -> Void) throws {
        let channel = try record(nickname: nickname)
        let size = max(1, pageSize)
        if let origin {
            var after = seq
            while true {
                let page = try store.read { try $0.entries(channel: channel.rowID, origin: origin, after: after, limit: size) }
                guard let last = page.last else { return }
                try body(page)
                after = last.seq
            }
        }
        var position: Int64 = 0
        while true {
            let page = try store.read { try $0.entries(channel: channel.rowID, afterPosition: position, limit: size) }
            guard let last = page.last else { return }
            try body(page.map(\.entry))
            position = last.position
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
}
