import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// What a bootstrap still has to pull from one origin.
public struct BootstrapNeed: Sendable, Equatable {
    public var origin: OriginID
    /// Entries with `seq > after` are missing here…
    public var after: UInt64
    /// …up to this seq (the inviting site's vector when it granted the claim).
    public var through: UInt64
}

extension Site {
    /// The claim this site makes for `ticket`: its card, the proof of the ticket's secret and its
    /// site key's signature.
    public func cloneClaim(for ticket: CloneTicket) throws -> CloneClaim {
        let site = try identity()
        return try CloneClaim.make(ticket, card: site.card, siteKeys: site.signing)
    }

    /// Starts a bootstrap from a grant, or resumes the one a previous run began: opens the
    /// sealed identity (bound to this ticket, the inviting site and this site), checks it as an
    /// import does, and creates the channel marked as bootstrapping — neither served, delivered
    /// nor listed until `finishBootstrap`. A channel already fully here is refused.
    public func beginBootstrap(_ grant: CloneGrant, ticket: CloneTicket) throws -> HostedChannel {
        let site = try identity()
        let binding = CloneGrant.binding(ticket: ticket.id, inviter: grant.site.siteID, claimant: site.siteID)
        var plain = try grant.identity.open(with: site.seal, additionalData: binding)
        defer { for i in plain.indices { plain[i] = 0 } }
        let document: ChannelExportDocument
        do {
            document = try WireJSON.decode(ChannelExportDocument.self, from: Data(plain), what: "clone identity", maxDepth: limits.maxJSONDepth)
        } catch let error as ModelError {
            throw EngineError.invalidImport("the sealed identity is not a channel identity (\(error))")
        }
        guard document.channel.portableID == grant.channel, document.entries.isEmpty else {
            throw EngineError.invalidImport("the sealed identity is not of the granted channel")
        }
        let (record, formers, _) = try verifiedIdentity(document)
        let marker = try WireJSON.encodeCanonical(["ticket": ticket.id, "from": grant.site.url])
        return try store.write { tx in
            if let existing = try tx.channels(includingHidden: true).first(where: { $0.guid == record.guid }) {
                guard existing.bootstrap != nil else { throw EngineError.channelExists("'\(existing.nickname)' (this site is a clone already)") }
                try tx.setBootstrap(channel: existing.rowID, marker)
                return HostedChannel(try tx.channel(rowID: existing.rowID) ?? existing)
            }
            if try tx.channel(nickname: record.nickname) != nil { throw EngineError.channelExists("'\(record.nickname)'") }
            var fresh = record
            fresh.bootstrap = marker
            let stored = try tx.insertChannel(fresh)
            for former in formers { try tx.saveFormerKey(channel: stored.rowID, former) }
            return HostedChannel(stored)
        }
    }

    /// What is left to pull for a bootstrap: each origin of the grant's vector past this site's.
    public func bootstrapNeeds(_ channel: HostedChannel, grant: CloneGrant) throws -> [BootstrapNeed] {
        let vector = try store.read { try $0.vector(channel: channel.rowID) }
        return grant.vector.seqs.sorted { $0.key < $1.key }.compactMap { origin, through in
            vector[origin] < through ? BootstrapNeed(origin: origin, after: vector[origin], through: through) : nil
        }
    }

    /// Ends a bootstrap once everything granted is here: the channel is served from now on, and
    /// this site's `location` entry is written and queued for every location (the caller pushes
    /// it at once), with a `refresh` to every location and connection.
    public func finishBootstrap(_ channel: HostedChannel, grant: CloneGrant) throws -> HostedChannel {
        let site = try identity()
        return try store.write { tx in
            guard let record = try tx.channel(rowID: channel.rowID), record.bootstrap != nil else {
                throw EngineError.invalidArgument("'\(channel.nickname)' is not being bootstrapped")
            }
            let vector = try tx.vector(channel: record.rowID)
            if let missing = grant.vector.seqs.first(where: { vector[$0.key] < $0.value }) {
                throw EngineError.invalidArgument("the bootstrap is not complete: origin \(missing.key.text) is at \(vector[missing.key]) of \(missing.value)")
            }
            try tx.setBootstrap(channel: record.rowID, nil)
            var served = record
            served.bootstrap = nil
            return try becomeLocation(served, keys: try channelKeys(served), site: site, in: tx)
        }
    }

    /// Records the token of a clone page request (refused if seen within `window` ms).
    public func acceptClonePull(token: String, window: UInt64 = 30 * 60 * 1000) throws {
        let now = clock.nowMilliseconds()
        try store.write { tx in
            guard try tx.recordToken(token, now: now, windowStart: now > window ? now - window : 0) else {
                throw EngineError.replayedToken(windowMinutes: window / 60_000)
            }
        }
    }
}
