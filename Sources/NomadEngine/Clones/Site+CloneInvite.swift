import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A ticket just issued.
public struct CloneInvitation: Sendable, Equatable, Codable {
    /// The ticket's text, to give to the new host's operator.
    public var ticket: String
    public var channel: PortableID
    public var nickname: String
    public var expires: String
}

extension Site {
    /// A ticket can be claimed for at most 7 days, at least one minute.
    public static let ticketLifetimes: ClosedRange<UInt64> = 60_000...(7 * 24 * 3_600_000)

    /// Issues a one-time ticket to make a new clone of a channel (`nomadsync clone invite`). The
    /// secret is stored sealed under the host key; the ticket text is the only copy outside.
    public func inviteClone(nickname: String, lifetimeMilliseconds: UInt64 = 3_600_000) throws -> CloneInvitation {
        guard Self.ticketLifetimes.contains(lifetimeMilliseconds) else {
            throw EngineError.invalidArgument("a ticket lives from 1 minute to 7 days")
        }
        let site = try identity()
        let id = Base64URL.encode(random.bytes(16))
        let secret = SecureBytes(random.bytes(32))
        let now = clock.nowMilliseconds()
        let expires = now + lifetimeMilliseconds
        let sealed = try store.sealSecret(secret, random: random)
        let channel = try store.write { tx -> ChannelRecord in
            guard let channel = try tx.channel(nickname: nickname), channel.bootstrap == nil else { throw EngineError.channelNotFound(nickname) }
            try ensureServed(channel, in: tx)
            try tx.insertCloneTicket(CloneTicketRecord(id: id, channel: channel.rowID, secretSealed: sealed, expiresAt: expires), now: now)
            return channel
        }
        let ticket = CloneTicket(url: site.url, channel: channel.portableID, nickname: channel.nickname, id: id,
                                 secret: Base64URL.encode(secret.revealedCopy()), expires: Self.timestampText(expires))
        return CloneInvitation(ticket: try ticket.text(), channel: channel.portableID, nickname: channel.nickname, expires: ticket.expires)
    }

    /// Answers a claim (`POST /clone/claim`): the ticket must exist, the proof must show its
    /// secret and the card's own key must have signed the claim; an unclaimed ticket must not
    /// have expired; a claimed one may be claimed again only by the same site (a resumed
    /// bootstrap), and not once that site is a live location (the ticket was used). The
    /// channel identity, private keys included, is sealed to the card's X25519 key.
    public func claimClone(_ claim: CloneClaim) throws -> CloneGrant {
        let site = try identity()
        do { _ = try claim.verifiedSiteKey() } catch let error as ModelError { throw EngineError.ticketRefused(.forged, error.description) }
        let now = clock.nowMilliseconds()
        let channel = try store.write { tx -> ChannelRecord in
            let (ticket, channel) = try usableTicket(claim.ticket, now: now, claimant: claim.card.siteID, in: tx)
            let secret = try store.openSecret(ticket.secretSealed, what: "clone ticket secret")
            let expected = try CloneClaim.proof(ticket: claim.ticket, card: claim.card, secret: secret)
            guard Array(expected.utf8) == Array(claim.proof.utf8) else {
                throw EngineError.ticketRefused(.forged, "the proof does not match the ticket's secret")
            }
            if ticket.claimedBy == nil {
                try tx.claimCloneTicket(id: ticket.id, by: claim.card.siteID, card: try WireJSON.encodeCanonical(claim.card), at: now)
            }
            return channel
        }
        let document = try exportDocument(nickname: channel.nickname, entries: false)
        var plain = Array(try WireJSON.encode(document).utf8)
        defer { for i in plain.indices { plain[i] = 0 } }
        let sealKey = try Base64URL.decode(claim.card.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
        let binding = CloneGrant.binding(ticket: claim.ticket, inviter: site.siteID, claimant: claim.card.siteID)
        let sealed = try SealedPayload.seal(plain, to: sealKey, additionalData: binding, random: random)
        let (vector, count) = try store.read { tx in (try tx.vector(channel: channel.rowID), try tx.entryCount(channel: channel.rowID)) }
        return CloneGrant(site: site.card, channel: channel.portableID, nickname: channel.nickname, identity: sealed, vector: vector, entries: count)
    }

    /// The claimant's card for a page request under `ticket` (checked as for a claim).
    public func cloneClaimant(ticket id: String) throws -> SiteCard {
        let now = clock.nowMilliseconds()
        return try store.read { tx in
            let (ticket, _) = try usableTicket(id, now: now, claimant: nil, in: tx)
            guard let text = ticket.claimedCard else { throw EngineError.ticketRefused(.unknown, "the ticket was not claimed yet") }
            return try WireJSON.decode(SiteCard.self, from: text, what: "claimed card")
        }
    }

    /// One page of the log for the site that claimed `ticket`, sealed to it.
    public func serveClonePage(ticket id: String, origin: OriginID, after: UInt64, limit: Int, maxBytes: Int) throws -> SealedPage {
        let card = try cloneClaimant(ticket: id)
        let channel = try store.read { tx -> ChannelRecord in
            guard let ticket = try tx.cloneTicket(id: id), let channel = try tx.channel(rowID: ticket.channel) else {
                throw EngineError.ticketRefused(.unknown, "no such ticket")
            }
            return channel
        }
        return try servePage(channel: HostedChannel(channel), toSite: card.siteID, sealkey: card.sealkey, origin: origin, after: after,
                             limit: limit, maxBytes: maxBytes)
    }

    /// The ticket and its channel, if `claimant` (or, when nil, its recorded claimant) may use it now.
    func usableTicket(_ id: String, now: UInt64, claimant: SiteID?, in tx: StoreTransaction) throws -> (CloneTicketRecord, ChannelRecord) {
        guard let ticket = try tx.cloneTicket(id: id), let channel = try tx.channel(rowID: ticket.channel) else {
            throw EngineError.ticketRefused(.unknown, "no such ticket on this site")
        }
        try ensureServed(channel, in: tx)
        if let claimedBy = ticket.claimedBy {
            if let claimant, claimant != claimedBy { throw EngineError.ticketRefused(.used, "the ticket was claimed by another site") }
            if try Self.locations(channel: channel, in: tx).contains(where: { $0.siteID == claimedBy && !$0.deleted }) {
                throw EngineError.ticketRefused(.used, "the ticket was used: that site is a clone of '\(channel.nickname)' now")
            }
            // A claimed ticket stays usable by its claimant for a day, to resume.
            if now > (ticket.claimedAt ?? 0) + 24 * 3_600_000 { throw EngineError.ticketRefused(.expired, "the claim is over a day old") }
        } else if now > ticket.expiresAt {
            throw EngineError.ticketRefused(.expired, "the ticket expired at \(Self.timestampText(ticket.expiresAt))")
        }
        return (ticket, channel)
    }
}
