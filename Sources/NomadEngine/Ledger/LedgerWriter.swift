import NomadModel
import NomadStore

/// The state-changing step shared by local appends and replay: put one entry whose turn has
/// come (its seq is the next for its origin) into the log, the vector, the state and the digest.
/// Lives for one transaction; `finish()` writes the digest and the vector back (the vector
/// once per origin the transaction moved, not once per entry: nothing reads the vector table
/// between the entries of one transaction).
struct LedgerWriter {
    let tx: StoreTransaction
    let channel: ChannelRecord
    private(set) var digest: StateDigest
    private(set) var vector: VersionVector
    /// Origins whose seq moved since the transaction began.
    private var moved: Set<OriginID> = []

    /// Reads the digest and vector inside the transaction: a `ChannelRecord` fetched before it
    /// began may be stale if another process wrote to the channel in between.
    init(tx: StoreTransaction, channel: ChannelRecord) throws {
        guard let current = try tx.channel(rowID: channel.rowID) else {
            throw EngineError.channelNotFound(channel.nickname)
        }
        self.tx = tx
        self.channel = current
        digest = StateDigest(bytes: current.digest)
        vector = try tx.vector(channel: current.rowID)
    }

    /// Whether `entry` beats the current winner `(hlc, origin)`; the id breaks a tie that only a
    /// fork could produce, so every clone still picks the same winner.
    static func wins(_ entry: ChangeEntry, over current: StateRow) -> Bool {
        if entry.hlc != current.hlc { return entry.hlc > current.hlc }
        if entry.origin != current.origin { return entry.origin > current.origin }
        return current.entryID.utf8.lexicographicallyPrecedes(entry.id.utf8)  // ids compare as bytes
    }

    /// Whether `a` beats `b` for the same document: the same order as `wins(_:over:)`.
    static func beats(_ a: ChangeEntry, _ b: ChangeEntry) -> Bool {
        if a.hlc != b.hlc { return a.hlc > b.hlc }
        if a.origin != b.origin { return a.origin > b.origin }
        return b.id.utf8.lexicographicallyPrecedes(a.id.utf8)
    }

    private struct WriterField: Decodable { var writer: OriginID }
    private struct VoidedField: Decodable { var voided: [String]? }

    /// The entry ids a `location` put voids (docs/PROTOCOL.md §3.2), if any.
    static func voidedNamed(by entry: ChangeEntry) -> [String]? {
        guard entry.entity == "location", entry.op == .put,
              let ids = (try? WireJSON.decode(VoidedField.self, from: entry.body, what: "location"))?.voided, !ids.isEmpty else { return nil }
        return ids
    }

    private struct DeletedField: Decodable { var deleted: Bool }

    /// Whether the entry is a `location` put marking its site's location deleted (retired).
    static func retiredSite(named entry: ChangeEntry) -> Bool {
        guard entry.entity == "location", entry.op == .put else { return false }
        return (try? WireJSON.decode(DeletedField.self, from: entry.body, what: "location"))?.deleted == true
    }

    /// The writer id a `location` put names, if the entry is one.
    static func writerNamed(by entry: ChangeEntry) -> OriginID? {
        guard entry.entity == "location", entry.op == .put else { return nil }
        return (try? WireJSON.decode(WriterField.self, from: entry.body, what: "location"))?.writer
    }

    /// Remembers the writer a `location` entry names, so entries of that origin are accepted.
    static func registerWriter(of entry: ChangeEntry, channel: Int64, in tx: StoreTransaction) throws {
        if let writer = writerNamed(by: entry) { try tx.addWriter(channel: channel, writer) }
    }

    /// Applies an entry in its turn. Returns whether it became the state row's winner.
    @discardableResult
    mutating func apply(_ entry: ChangeEntry, local: Bool = false) throws -> Bool {
        precondition(entry.seq == vector[entry.origin] + 1, "entries are applied in seq order per origin")
        try tx.insertEntry(channel: channel.rowID, entry, local: local)
        try Self.registerWriter(of: entry, channel: channel.rowID, in: tx)
        vector[entry.origin] = entry.seq
        moved.insert(entry.origin)
        let current = try tx.stateRow(channel: channel.rowID, entity: entry.entity, key: entry.key)
        if let current {
            guard Self.wins(entry, over: current) else { return false }
            digest.subtract(StateDigest.term(guid: channel.guid, entity: current.entity, key: current.key, entryID: current.entryID))
        }
        digest.add(StateDigest.term(guid: channel.guid, entity: entry.entity, key: entry.key, entryID: entry.id))
        try tx.putState(channel: channel.rowID, from: entry)
        return true
    }

    func finish() throws {
        for origin in moved.sorted() { try tx.setVector(channel: channel.rowID, origin: origin, seq: vector[origin]) }
        try tx.setDigest(channel: channel.rowID, digest.bytes)
    }
}
