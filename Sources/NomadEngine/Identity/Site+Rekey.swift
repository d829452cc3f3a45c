import NomadCrypto
import NomadModel
import NomadStore

/// What a rekey made.
public struct RekeyOutcome: Sendable, Equatable, Codable {
    public var oldPortableID: PortableID
    public var newPortableID: PortableID
    public var update: Bool
    /// The signed rekey data, as it goes out in `rekey` messages.
    public var rekey: SignedRekey

    enum CodingKeys: String, CodingKey {
        case update, rekey
        case oldPortableID = "old_portable_id"
        case newPortableID = "new_portable_id"
    }
}

/// Where the channel's keys stand after resolving its rekeys.
struct KeyResolution {
    /// The channel moved to another key in this transaction.
    var switched = false
    /// The newest agreed key this site cannot open yet (a rekey whose predecessor it lacks).
    var pending: PortableID?
}

extension Site {
    /// Gives a channel a new key pair (DESIGN §8), in one transaction: a `key` entry carrying the
    /// rekey data signed by the old and the new key, and the new seed sealed under a key derived
    /// from the old seed; with `update: false` also a `link` entry (old ↔ new, both stay valid).
    /// The channel switches to the new key and portable_id at once, re-signs this site's
    /// `location`, and every entry is queued for the other clones, which switch when they apply
    /// the `key` entry.
    ///
    /// ```swift
    /// let outcome = try site.rekey(nickname: "alice", update: true)   // the old id is refused from now on
    /// ```
    @discardableResult
    public func rekey(nickname: String, update: Bool) throws -> RekeyOutcome {
        let site = try identity()
        return try store.write { tx in
            let channel = try writableChannel(nickname: nickname, in: tx)
            let old = try channelKeys(channel)
            let new = SigningKeyPair.generate(using: random)
            let data = RekeyData(channel: channel.guid, oldKey: old.publicKey, newKey: new.publicKey, update: update, date: clock.nowText())
            let signed = try SignedRekey.make(data, old: old, new: new)
            let body = try KeyEntryBody(signed, old: old, new: new, random: random)
            var changes = [Change(entity: "key", key: data.newPortableID.text, op: .put, body: try WireJSON.encodeCanonical(body))]
            if !update {
                changes.append(Change(entity: "link", key: data.oldPortableID.text, op: .put,
                                      body: try WireJSON.encodeCanonical(["old": data.oldPortableID.text, "new": data.newPortableID.text])))
            }
            let entries = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
            try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
            try resolveKeys(channel: channel, site: site, in: tx)
            // Tell every location and connection: the dual-signed rekey (signed by the new key)
            // and a refresh (the locations are signed anew).
            let switched = try tx.channel(rowID: channel.rowID) ?? channel
            try queueAnnouncement(.rekey, channel: switched, site: site, rekey: signed, in: tx)
            try queueAnnouncement(.refresh, channel: switched, site: site, in: tx)
            return RekeyOutcome(oldPortableID: data.oldPortableID, newPortableID: data.newPortableID, update: update, rekey: signed)
        }
    }

    /// Moves the channel to the key its `key` entries agree on (`KeyChain.canonical`), as far as
    /// this site can open the new seeds, inside `tx`. The keys it leaves go to `former_key`:
    /// valid when the rekey that left them was a link (`update: false`), superseded otherwise.
    /// After a switch this site's own `location` is published again, signed with the new key.
    @discardableResult
    func resolveKeys(channel: ChannelRecord, site: SiteIdentity, in tx: StoreTransaction,
                     vouching: [ChangeEntry] = []) throws -> KeyResolution {
        var held = try KeyChain.load(channel, in: tx)
        held.add(verifiedAmong: vouching, guid: channel.guid)
        guard !held.steps.isEmpty else { return KeyResolution() }
        let formers = try tx.formerKeys(channel: channel.rowID)
        let chain = held.canonical(anchors: [channel.publicKey] + formers.map(\.publicKey))
        guard let first = chain.first, let last = chain.last else { return KeyResolution() }
        let keys = [first.oldKey] + chain.map(\.newKey)
        // Start from the newest key of the chain whose seed this site holds.
        guard let start = keys.lastIndex(where: { key in key == channel.publicKey || formers.contains { $0.publicKey == key } }) else {
            return KeyResolution(pending: last.data.newPortableID)
        }
        var pair: SigningKeyPair
        if keys[start] == channel.publicKey {
            pair = try channelKeys(channel)
        } else if let former = formers.first(where: { $0.publicKey == keys[start] }) {
            pair = try SigningKeyPair(seed: try store.openSecret(former.seedSealed, what: "former channel key"))
        } else {
            return KeyResolution(pending: last.data.newPortableID)
        }
        var opened: [Int: SigningKeyPair] = [start: pair]
        var reached = start
        for index in start..<chain.count {
            guard let next = try? chain[index].body.openKeys(oldSeed: pair.seed) else { break }
            pair = next
            reached = index + 1
            opened[reached] = next
        }
        var resolution = KeyResolution(pending: reached < chain.count ? last.data.newPortableID : nil)
        func validity(of key: [UInt8]) -> Bool {
            guard let index = keys.firstIndex(of: key), index < chain.count else { return false }
            return !chain[index].data.update
        }
        // Former keys follow the agreed chain: linked ones stay valid, the others are superseded.
        for former in formers where former.valid != validity(of: former.publicKey) {
            var changed = former
            changed.valid = validity(of: former.publicKey)
            try tx.saveFormerKey(channel: channel.rowID, changed)
        }
        let target = keys[reached]
        guard target != channel.publicKey else { return resolution }

        try tx.saveFormerKey(channel: channel.rowID, FormerKey(portableID: channel.portableID, publicKey: channel.publicKey,
                                                               seedSealed: channel.seedSealed, valid: validity(of: channel.publicKey)))
        for (index, keys) in opened where index != reached && keys.publicKey != channel.publicKey
            && !formers.contains(where: { $0.publicKey == keys.publicKey }) {
            try tx.saveFormerKey(channel: channel.rowID, FormerKey(portableID: PortableID(guid: channel.guid, publicKey: keys.publicKey),
                                                                   publicKey: keys.publicKey, seedSealed: try store.sealSecret(keys.seed, random: random),
                                                                   valid: validity(of: keys.publicKey)))
        }
        let newID = PortableID(guid: channel.guid, publicKey: pair.publicKey)
        try tx.setChannelKey(channel: channel.rowID, portableID: newID, publicKey: pair.publicKey,
                             seedSealed: try store.sealSecret(pair.seed, random: random))
        resolution.switched = true
        // This site's location, signed again with the key it now holds.
        guard let switched = try tx.channel(portableID: newID),
              let own = try Self.locations(channel: switched, in: tx).first(where: { $0.siteID == site.siteID && !$0.deleted }) else {
            return resolution
        }
        let location = try localLocation(channel: switched, keys: pair, site: site, primary: own.primary,
                                         fallbacks: own.fallbacks, voided: own.voided)
        let entries = try ChangeLog(limits: limits).append(
            [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))],
            to: switched, in: tx, now: clock.nowMilliseconds())
        try queueForPeers(entries, channel: switched, siteID: site.siteID, in: tx)
        return resolution
    }

    /// A clone refused our packet as signed under a replaced id (`410 rekeyed`) and sent the
    /// channel's `key` entries: they are replayed (applied, or held behind a gap — a held rekey
    /// counts too) and the channel moves to the key they agree on. Anything but verified `key`
    /// puts is ignored; a batch that does not replay changes nothing.
    public func learnRekeys(nickname: String, _ entries: [ChangeEntry]) throws {
        let keys = entries.filter { $0.entity == "key" && $0.op == .put }.prefix(64)
        guard !keys.isEmpty else { return }
        try store.write { tx in
            guard let channel = try tx.channel(nickname: nickname) else { return }
            // Never this site's own writer from outside (as catch-up never pulls it): after a
            // restore those seqs may be taken again here, and the fork heal sorts them out.
            let foreign = try fittingKeys(Array(keys), channel: channel, in: tx)
            if !foreign.isEmpty { _ = try ReplayEngine(limits: limits).apply(foreign, to: channel, in: tx, now: clock.nowMilliseconds()) }
            try settle(channel, in: tx, vouching: Array(keys))
        }
    }

    /// The agreed key this site cannot open yet (read-only), if any: what status calls
    /// `rekey pending`.
    func pendingKey(of channel: ChannelRecord, in tx: StoreTransaction) throws -> PortableID? {
        let chain = try KeyChain.load(channel, in: tx)
        guard !chain.steps.isEmpty else { return nil }
        let anchors = [channel.publicKey] + (try tx.formerKeys(channel: channel.rowID)).map(\.publicKey)
        // A rekey from a key this site has not heard of yet: an earlier rekey is still missing.
        let trusted = chain.trusted(from: anchors)
        if let unconnected = chain.steps.filter({ !trusted.contains($0.newKey) }).max(by: { $1.beats($0) }) {
            return unconnected.data.newPortableID
        }
        guard let last = chain.canonical(anchors: anchors).last, !anchors.contains(last.newKey) else { return nil }
        return last.data.newPortableID
    }

    /// Runs `resolveKeys` for the channel as stored now (the caller's replay may have changed it).
    func resolveKeys(of channel: ChannelRecord, in tx: StoreTransaction, vouching: [ChangeEntry] = []) throws {
        guard let channel = try tx.channel(rowID: channel.rowID) else { return }
        let rekeyed = try !vouching.isEmpty || !tx.stateRows(channel: channel.rowID, entity: "key").isEmpty
            || !tx.pendingEntries(channel: channel.rowID, entity: "key").isEmpty
        guard rekeyed else { return }
        _ = try resolveKeys(channel: channel, site: try identity(in: tx), in: tx, vouching: vouching)
    }
}
