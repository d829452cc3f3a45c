import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A `rekey`, `refresh`, `purge`, `activity` or `response` opened and checked, not yet accepted.
public struct OpenedMessage: Sendable {
    public var type: MessageType
    public var message: ChannelMessage
    public var content: ChannelMessage.Content
    /// The key the request must be signed with: the one behind the sender's portable_id (for a
    /// rekey, its new key).
    public var senderKey: [UInt8]
    /// Set when the sender is a channel hosted here, sent by one of its own live locations (a
    /// clone): its changes reach this site through the log, so nothing else is done.
    public var cloneLocation: Location?
    /// The hosted channels among the envelope's recipients.
    public var recipients: [HostedChannel]
    public var hasRecipients: Bool
}

/// What accepting a message did, in words for the delivery report.
public struct MessageReceipt: Sendable, Equatable {
    public var status: String
}

extension Site {
    /// Opens a message other than `sync`, read-only (docs/PROTOCOL.md §10): the payload must
    /// open with this site's key and the envelope binding, name the envelope's sender and site,
    /// and prove the sender's key (its portable_id derives from guid and key). A rekey's two
    /// signatures must verify (else 401). Then the sender must be someone this site deals with:
    /// a clone of a channel hosted here (from one of its live locations), a connection of a
    /// hosted channel, a channel met before, or — for `activity` and `response` — a sender to
    /// hosted recipients. The caller verifies the HTTP signature with `senderKey`, and calls
    /// `acceptMessage`.
    public func openMessage(_ envelope: Envelope) throws -> OpenedMessage {
        guard envelope.type != .sync else { throw EngineError.notForThisSite("a sync message is opened with openSync") }
        let site = try identity()
        let plain = try envelope.data.open(with: site.seal, additionalData: envelope.binding(recipientSiteID: site.siteID))
        let message = try WireJSON.decode(ChannelMessage.self, from: Data(plain), what: "\(envelope.type.rawValue) data",
                                          maxDepth: limits.maxJSONDepth)
        let checked: (publicKey: [UInt8], content: ChannelMessage.Content)
        do { checked = try message.checked(against: envelope, limits: limits) } catch let error as ModelError {
            if envelope.type == .rekey, message.rekey != nil, case .invalidField(let field, _) = error, field.hasPrefix("rekey") {
                throw EngineError.invalidRekey(error.description)
            }
            throw error
        }
        return try store.read { tx in
            var opened = OpenedMessage(type: envelope.type, message: message, content: checked.content, senderKey: checked.publicKey,
                                       cloneLocation: nil, recipients: [], hasRecipients: !envelope.recipients.isEmpty)
            for id in envelope.recipients {
                guard let named = try channel(named: id, in: tx), named.valid, named.channel.purgedAt == nil,
                      try !isRetired(named.channel, in: tx),
                      !opened.recipients.contains(where: { $0.rowID == named.channel.rowID }) else { continue }
                opened.recipients.append(HostedChannel(named.channel))
            }
            if let hosted = try cloneOf(message, content: checked.content, in: tx) {
                guard let location = try Self.locations(channel: hosted, in: tx).first(where: { $0.siteID == envelope.siteID && !$0.deleted }) else {
                    throw EngineError.unknownSender(envelope.siteID.text)
                }
                opened.cloneLocation = location
                return opened
            }
            switch checked.content {
            case .activity:
                guard !opened.recipients.isEmpty else { throw EngineError.notForThisSite("no recipient of this message is hosted on this site") }
            case .refresh, .purge, .rekey:
                if opened.hasRecipients, opened.recipients.isEmpty {
                    throw EngineError.notForThisSite("no recipient of this message is hosted on this site")
                }
                let known = try knownSender(message.channel, content: checked.content, in: tx)
                guard known || !opened.recipients.isEmpty else {
                    throw EngineError.notForThisSite("\(message.channel.text) is not a connection of any channel hosted here")
                }
            }
            return opened
        }
    }

    /// The hosted channel a message's sender is (or, for a rekey, was) — nil for anyone else.
    func cloneOf(_ message: ChannelMessage, content: ChannelMessage.Content, in tx: StoreTransaction) throws -> ChannelRecord? {
        if let named = try channel(named: message.channel, in: tx) { return named.channel }
        if case .rekey(let data) = content, let named = try channel(named: data.oldPortableID, in: tx) { return named.channel }
        if try tx.channels().contains(where: { $0.guid == message.guid }) {
            throw EngineError.notForThisSite("the sender is a channel hosted here under a key this site has not applied yet; its key entry reaches this site through the log")
        }
        return nil
    }

    /// Whether a hosted channel has the sender (for a rekey: its old id) as a connection, or
    /// this site met it before.
    func knownSender(_ sender: PortableID, content: ChannelMessage.Content, in tx: StoreTransaction) throws -> Bool {
        var ids = [sender]
        if case .rekey(let data) = content { ids.append(data.oldPortableID) }
        for id in ids {
            if try tx.remoteChannel(id) != nil || !(try connectionHolders(of: id, in: tx)).isEmpty { return true }
        }
        return false
    }

    /// The live hosted channels with a live `connection` entry keyed by `id`.
    func connectionHolders(of id: PortableID, in tx: StoreTransaction) throws -> [(ChannelRecord, StateRow)] {
        try tx.channels().filter { $0.purgedAt == nil }.compactMap { channel in
            guard try !isRetired(channel, in: tx), let row = try tx.stateRow(channel: channel.rowID, entity: "connection", key: id.text),
                  row.op == .put else { return nil }
            return (channel, row)
        }
    }

    /// Accepts a verified message in one transaction with the request token (refused when
    /// seen within `tokenWindow` ms). `document` is the sender's discovery document, fetched
    /// and verified by the caller, for a `refresh` from a connection.
    public func acceptMessage(_ opened: OpenedMessage, token: String, tokenWindow: UInt64 = 30 * 60 * 1000,
                              document: VerifiedDiscovery? = nil) throws -> MessageReceipt {
        let now = clock.nowMilliseconds()
        let site = try identity()
        return try store.write { tx in
            guard try tx.recordToken(token, now: now, windowStart: now > tokenWindow ? now - tokenWindow : 0) else {
                throw EngineError.replayedToken(windowMinutes: tokenWindow / 60_000)
            }
            if opened.cloneLocation != nil {
                return MessageReceipt(status: "\(opened.type.rawValue) from a clone: its changes reach this site through the log")
            }
            let sender = opened.message.channel
            switch opened.content {
            case .activity(let text):
                var kept = 0
                let id = ChannelMessage.messageID(activity: text)
                for channel in opened.recipients {
                    guard try tx.insertInbound(channel: channel.rowID, messageID: id, type: opened.type.rawValue, sender: sender,
                                               siteID: opened.message.from, body: text, receivedAt: now) else { continue }
                    kept += 1
                    // Mirrored to every clone as an `inbound` entry (unless a clone already did),
                    // so each clone's paired server gets it once through its feed.
                    guard let record = try tx.channel(rowID: channel.rowID),
                          try tx.stateRow(channel: record.rowID, entity: "inbound", key: id) == nil else { continue }
                    let body = try WireJSON.encodeCanonical(InboundBody(type: opened.type.rawValue, sender: sender.text,
                                                                        siteID: opened.message.from.text, activity: text))
                    // One too large to mirror once escaped stays readable here at …/inbound.
                    guard body.utf8.count <= limits.maxEntryBodyBytes else { continue }
                    try appendService([Change(entity: "inbound", key: id, op: .put, body: body)], to: record, site: site, in: tx)
                }
                return MessageReceipt(status: "\(opened.type.rawValue) kept for \(kept) channel(s), \(opened.recipients.count - kept) duplicate")
            case .refresh:
                var remote = try tx.remoteChannel(sender)
                    ?? RemoteChannel(portableID: sender, guid: opened.message.guid, publicKey: opened.senderKey)
                if let document, document.portableID == sender {
                    remote.locations = document.locations
                    remote.refreshedAt = now
                }
                try tx.saveRemoteChannel(remote)
                for channel in opened.recipients {
                    _ = try tx.insertInbound(channel: channel.rowID, messageID: "refresh:\(token)", type: "refresh", sender: sender,
                                             siteID: opened.message.from, body: "{}", receivedAt: now)
                }
                let handed = opened.recipients.isEmpty ? "" : ", handed to the paired server for \(opened.recipients.count) channel(s)"
                return MessageReceipt(status: "refresh: \(remote.locations.filter { !$0.deleted }.count) live location(s) stored\(handed)")
            case .purge:
                var remote = try tx.remoteChannel(sender)
                    ?? RemoteChannel(portableID: sender, guid: opened.message.guid, publicKey: opened.senderKey)
                let holders: [(ChannelRecord, StateRow)]
                if opened.hasRecipients {
                    let named = Set(opened.recipients.map(\.rowID))
                    holders = try connectionHolders(of: sender, in: tx).filter { named.contains($0.0.rowID) }
                } else {
                    remote.purgedAt = remote.purgedAt ?? now
                    holders = try connectionHolders(of: sender, in: tx)
                }
                try tx.saveRemoteChannel(remote)
                for (channel, _) in holders {
                    try appendService([Change(entity: "connection", key: sender.text, op: .delete, body: "")], to: channel, site: site, in: tx)
                }
                return MessageReceipt(status: "purge: \(holders.count) connection(s) removed")
            case .rekey(let data):
                return try acceptConnectionRekey(data, message: opened.message, site: site, now: now, in: tx)
            }
        }
    }

    /// A connection's rekey: the remote channel's old id is replaced by (`update:true`) or linked
    /// to (`update:false`) the new one, and with `update:true` every hosted channel's
    /// `connection` entry keyed by the old id moves to the new id, body unchanged.
    func acceptConnectionRekey(_ data: RekeyData, message: ChannelMessage, site: SiteIdentity, now: UInt64,
                               in tx: StoreTransaction) throws -> MessageReceipt {
        let keys = try data.keys()
        var old = try tx.remoteChannel(data.oldPortableID)
            ?? RemoteChannel(portableID: data.oldPortableID, guid: data.channel, publicKey: keys.old)
        if old.replacedBy == data.newPortableID || old.linkedTo == data.newPortableID {
            throw EngineError.replayedRekey(data.newPortableID.text)
        }
        if let replacement = old.replacedBy ?? old.linkedTo {
            throw EngineError.invalidRekey("\(data.oldPortableID.text) was already rekeyed to \(replacement.text)")
        }
        if data.update { old.replacedBy = data.newPortableID } else { old.linkedTo = data.newPortableID }
        try tx.saveRemoteChannel(old)
        var new = try tx.remoteChannel(data.newPortableID)
            ?? RemoteChannel(portableID: data.newPortableID, guid: data.channel, publicKey: keys.new)
        if new.locations.isEmpty { new.locations = old.locations }
        try tx.saveRemoteChannel(new)
        guard data.update else { return MessageReceipt(status: "rekey applied: \(data.oldPortableID.text) linked to \(data.newPortableID.text)") }
        let holders = try connectionHolders(of: data.oldPortableID, in: tx)
        for (channel, row) in holders {
            try appendService([
                Change(entity: "connection", key: data.oldPortableID.text, op: .delete, body: ""),
                Change(entity: "connection", key: data.newPortableID.text, op: .put, body: row.body),
            ], to: channel, site: site, in: tx)
        }
        return MessageReceipt(status: "rekey applied: \(holders.count) connection(s) moved to \(data.newPortableID.text)")
    }

    /// Appends changes nomadsync makes on its own (a connection's rekey or purge) as local
    /// changes of `channel`, queued for its clones, inside `tx`.
    func appendService(_ changes: [Change], to channel: ChannelRecord, site: SiteIdentity, in tx: StoreTransaction) throws {
        let channel = try writableChannel(channel, in: tx)
        let entries = try ChangeLog(limits: limits).append(changes, to: channel, in: tx, now: clock.nowMilliseconds())
        try queueForPeers(entries, channel: channel, siteID: site.siteID, in: tx)
    }

    /// The messages kept for a channel, oldest first (what the paired server's feed reads).
    public func inbound(nickname: String, after position: Int64 = 0, limit: Int = 1000) throws -> [InboundMessage] {
        let channel = try record(nickname: nickname)
        return try store.read { try $0.inbound(channel: channel.rowID, after: position, limit: limit) }
    }

    /// What this site knows of a remote channel.
    public func remoteChannel(_ id: PortableID) throws -> RemoteChannel? {
        try store.read { try $0.remoteChannel(id) }
    }
}

/// The body of an `inbound` entry: an activity or response a clone received for the channel.
struct InboundBody: Encodable {
    var type: String
    var sender: String
    var siteID: String
    var activity: String

    enum CodingKeys: String, CodingKey {
        case type, sender, activity
        case siteID = "site_id"
    }
}
