import NomadCrypto
import NomadModel
import NomadStore

/// The rekeys a channel's log holds (its `key` entries), and what follows from them: which keys
/// are the channel's, and which one is current (DESIGN §8, docs/PROTOCOL.md §8).
///
/// Every clone computes the same answer from the same entries: from the first key, each step
/// follows the rekey with the greatest `(hlc, entry id)` among those made from that key, so two
/// clones that rekey at once end on one key.
struct KeyChain {
    /// One verified rekey: a `key` entry's body and where it sits in the log.
    struct Step {
        var data: RekeyData
        var body: KeyEntryBody
        var oldKey: [UInt8]
        var newKey: [UInt8]
        var hlc: HybridTimestamp
        var entryID: String

        func beats(_ other: Step) -> Bool { (hlc, entryID) > (other.hlc, other.entryID) }
    }

    private(set) var steps: [Step] = []

    /// Reads and verifies a `key` put (body, both signatures, ids); nil for other entries.
    /// Throws when a `key` entry does not verify or belongs to another channel.
    static func step(entity: String, key: String, op: ChangeOp, body: String, hlc: HybridTimestamp, entryID: String,
                     guid: String) throws -> Step? {
        guard entity == "key" else { return nil }
        guard op == .put else { throw ModelError.invalidField("key", reason: "a key entry cannot be deleted") }
        let parsed = try WireJSON.decode(KeyEntryBody.self, from: body, what: "key entry", maxDepth: 8)
        let data = try parsed.signed.verified()
        guard data.channel == guid else { throw ModelError.invalidField("key", reason: "the rekey names another channel") }
        guard data.newPortableID.text == key else { throw ModelError.invalidField("key", reason: "its key is not the rekey's new_portable_id") }
        let (old, new) = try data.keys()
        return Step(data: data, body: parsed, oldKey: old, newKey: new, hlc: hlc, entryID: entryID)
    }

    /// `step(…)` for an entry (nil unless it is a `key` entry; throws when it does not verify).
    static func step(of entry: ChangeEntry, guid: String) throws -> Step? {
        try step(entity: entry.entity, key: entry.key, op: entry.op, body: entry.body, hlc: entry.hlc, entryID: entry.id, guid: guid)
    }

    /// Adds the verified rekeys among `entries`, skipping what does not verify.
    mutating func add(verifiedAmong entries: [ChangeEntry], guid: String) {
        for entry in entries { if let step = try? Self.step(of: entry, guid: guid) { add(step) } }
    }

    init(rows: [StateRow], guid: String) {
        for row in rows {
            if let step = try? Self.step(entity: row.entity, key: row.key, op: row.op, body: row.body, hlc: row.hlc,
                                         entryID: row.entryID, guid: guid) { steps.append(step) }
        }
    }

    /// Every verified rekey the site holds for the channel: applied (`key` state rows) and held
    /// (waiting for a gap: a rekey takes effect whatever order the log fills in).
    static func load(_ channel: ChannelRecord, in tx: StoreTransaction) throws -> KeyChain {
        var chain = KeyChain(rows: try tx.stateRows(channel: channel.rowID, entity: "key"), guid: channel.guid)
        chain.add(verifiedAmong: try tx.pendingEntries(channel: channel.rowID, entity: "key"), guid: channel.guid)
        return chain
    }

    mutating func add(_ step: Step) {
        if !steps.contains(where: { $0.entryID == step.entryID }) { steps.append(step) }
    }

    /// The keys that belong to the channel: `anchors` (keys this site holds for it), and every
    /// key a verified rekey connects to them, either way (the new key signed the rekey from the
    /// old one, and the old key signed the rekey to the new one).
    func trusted(from anchors: [[UInt8]]) -> [[UInt8]] {
        var trusted = anchors
        var grew = true
        while grew {
            grew = false
            for step in steps {
                let hasOld = trusted.contains(step.oldKey), hasNew = trusted.contains(step.newKey)
                if hasOld && !hasNew { trusted.append(step.newKey); grew = true }
                if hasNew && !hasOld { trusted.append(step.oldKey); grew = true }
            }
        }
        return trusted
    }

    /// The agreed sequence of rekeys from the channel's first key: at each key, the rekey made
    /// from it that wins by `(hlc, entry id)`. Rekeys not connected to `anchors` are left out.
    func canonical(anchors: [[UInt8]]) -> [Step] {
        let keys = trusted(from: anchors)
        let connected = steps.filter { keys.contains($0.oldKey) }
        let made = Set(connected.map(\.newKey))
        // The first key is the one no connected rekey made; with several, the smallest (any
        // fixed rule will do: a well-formed log has one).
        guard var key = connected.map(\.oldKey).filter({ !made.contains($0) }).min(by: { $0.lexicographicallyPrecedes($1) }) else {
            return []
        }
        var chain: [Step] = []
        var visited: [[UInt8]] = [key]
        while let next = connected.filter({ $0.oldKey == key }).max(by: { $1.beats($0) }), !visited.contains(next.newKey) {
            chain.append(next)
            visited.append(next.newKey)
            key = next.newKey
        }
        return chain
    }
}
