import NomadCrypto
import NomadModel
import NomadStore

/// A channel hosted here as one of its portable_ids names it.
public struct NamedChannel: Sendable {
    public var channel: HostedChannel
    /// The id used, and the public key behind it.
    public var portableID: PortableID
    public var publicKey: [UInt8]
    /// The channel's current id (false: a former one).
    public var isCurrent: Bool
    /// Requests under this id are accepted: the current id, or a former one a rekey linked.
    public var valid: Bool
}

extension Site {
    /// The channel `portableID` names: its current id, or a former one (valid when linked,
    /// superseded after a rekey with `update: true`). nil when no hosted channel had that id.
    public func channel(named portableID: PortableID) throws -> NamedChannel? {
        try store.read { tx in
            try channel(named: portableID, in: tx).map {
                NamedChannel(channel: HostedChannel($0.channel), portableID: portableID, publicKey: $0.publicKey,
                             isCurrent: $0.channel.portableID == portableID, valid: $0.valid)
            }
        }
    }

    func channel(named portableID: PortableID, in tx: StoreTransaction) throws -> (channel: ChannelRecord, publicKey: [UInt8], valid: Bool)? {
        if let channel = try tx.channel(portableID: portableID) { return (channel, channel.publicKey, true) }
        if let (channel, former) = try tx.channel(formerPortableID: portableID) { return (channel, former.publicKey, former.valid) }
        return nil
    }

    /// A clone that rekeyed signs with its new key before this site has applied the rekey: its
    /// packet carries the `key` entries leading from an id of a channel hosted here to the
    /// sender's new id, each verified (both signatures, ids, the channel's guid).
    func channel(introducing sender: PortableID, by entries: [ChangeEntry],
                 in tx: StoreTransaction) throws -> (channel: ChannelRecord, publicKey: [UInt8], valid: Bool)? {
        let rekeys = entries.compactMap { entry -> (RekeyData, [UInt8])? in
            guard entry.entity == "key", entry.op == .put,
                  let body = try? WireJSON.decode(KeyEntryBody.self, from: entry.body, what: "key entry", maxDepth: 8),
                  let data = try? body.signed.verified(), data.newPortableID.text == entry.key,
                  let keys = try? data.keys() else { return nil }
            return (data, keys.new)
        }
        var target = sender
        var path: [RekeyData] = []
        for _ in 0..<rekeys.count {
            guard let (step, _) = rekeys.first(where: { $0.0.newPortableID == target }) else { return nil }
            path.append(step)
            if let known = try channel(named: step.oldPortableID, in: tx) {
                guard path.allSatisfy({ $0.channel == known.channel.guid }),
                      let newKey = rekeys.first(where: { $0.0.newPortableID == sender })?.1 else { return nil }
                return (known.channel, newKey, true)
            }
            target = step.oldPortableID
        }
        return nil
    }

    /// The keys a `location` of the channel may be signed with: current, former, and those the
    /// held and the given `key` entries connect to them.
    func trustedKeys(of channel: ChannelRecord, with entries: [ChangeEntry] = []) throws -> [[UInt8]] {
        try store.read { tx in
            var chain = try KeyChain.load(channel, in: tx)
            chain.add(verifiedAmong: entries, guid: channel.guid)
            return chain.trusted(from: [channel.publicKey] + (try tx.formerKeys(channel: channel.rowID)).map(\.publicKey))
        }
    }

    /// The signing keys behind one of the channel's ids (current or former).
    func keys(of channel: ChannelRecord, named portableID: PortableID) throws -> SigningKeyPair {
        if portableID == channel.portableID { return try channelKeys(channel) }
        guard let former = try store.read({ try $0.formerKeys(channel: channel.rowID) }).first(where: { $0.portableID == portableID }) else {
            throw EngineError.notForThisSite("\(portableID.text) is not an id of this channel")
        }
        return try SigningKeyPair(seed: try store.openSecret(former.seedSealed, what: "former channel key"))
    }
}
