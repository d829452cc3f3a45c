import Foundation
import NomadCrypto

/// A one-time invitation to make a new clone of a channel (`nomadsync clone invite`): where
/// the inviting site is, which channel, the ticket's id and secret, and until when it can be
/// claimed. Its text form is `nomadsync-ticket:` followed by base64url of the JSON (sorted keys):
/// ```json
/// {"channel":"<portable_id>","expires":"2026-12-01T13:00:00Z","id":"<base64url 16>",
///  "nickname":"alice","secret":"<base64url 32>","url":"https://a.example"}
/// ```
/// The secret never crosses the wire: the claimant proves it holds it (`CloneClaim.proof`).
public struct CloneTicket: Sendable, Equatable, Codable {
    public static let prefix = "nomadsync-ticket:"

    public var url: String
    public var channel: PortableID
    public var nickname: String
    public var id: String
    public var secret: String
    public var expires: String

    public init(url: String, channel: PortableID, nickname: String, id: String, secret: String, expires: String) {
        self.url = url
        self.channel = channel
        self.nickname = nickname
        self.id = id
        self.secret = secret
        self.expires = expires
    }

    /// The text to hand to the new host's operator.
    public func text() throws -> String { Self.prefix + Base64URL.encode(Array(try WireJSON.encodeCanonical(self).utf8)) }

    /// Parses a ticket's text (at most 2,048 characters), checking every field's shape.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= 2048, trimmed.hasPrefix(Self.prefix) else {
            throw ModelError.invalidField("ticket", reason: "a ticket starts with \(Self.prefix) (it is printed by `nomadsync clone invite`)")
        }
        do {
            let bytes = try Base64URL.decode(String(trimmed.dropFirst(Self.prefix.count)), what: "ticket")
            self = try WireJSON.decode(CloneTicket.self, from: Data(bytes), what: "ticket", maxDepth: 4)
            url = try Names.normaliseSiteURL(url)
            try Names.validateNickname(nickname)
            _ = try Base64URL.decode(id, what: "ticket id", length: 16)
            _ = try Base64URL.decode(secret, what: "ticket secret", length: 32)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidField("ticket", reason: "is damaged (\(error)); copy it again from `nomadsync clone invite`")
        }
    }

    /// The secret's bytes.
    public func secretBytes() throws -> SecureBytes { SecureBytes(try Base64URL.decode(secret, what: "ticket secret", length: 32)) }
}

/// `POST /clone/claim`: the new site presents its card and proves it holds the ticket's secret
/// (`proof`) and its site key (`signature`), both over `CloneClaim.signedBytes`.
public struct CloneClaim: Sendable, Equatable, Codable {
    public var ticket: String
    public var card: SiteCard
    public var proof: String
    public var signature: String

    public init(ticket: String, card: SiteCard, proof: String, signature: String) {
        self.ticket = ticket
        self.card = card
        self.proof = proof
        self.signature = signature
    }

    /// `text("nomadsync/clone-claim/1") text(ticket id) text(site_id) text(url) text(sitekey) text(sealkey)`.
    public static func signedBytes(ticket: String, card: SiteCard) -> [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/clone-claim/1")
        w.text(ticket)
        w.text(card.siteID.text)
        w.text(card.url)
        w.text(card.sitekey)
        w.text(card.sealkey)
        return w.bytes
    }

    /// `base64url(BLAKE2b-256(signedBytes; key = ticket secret))`.
    public static func proof(ticket: String, card: SiteCard, secret: SecureBytes) throws -> String {
        Base64URL.encode(try Blake2b.keyedHash256(signedBytes(ticket: ticket, card: card), key: secret).revealedCopy())
    }

    /// Builds a claim for `ticket` from the site with `card` and `siteKeys`.
    public static func make(_ ticket: CloneTicket, card: SiteCard, siteKeys: SigningKeyPair) throws -> CloneClaim {
        let bytes = signedBytes(ticket: ticket.id, card: card)
        return CloneClaim(ticket: ticket.id, card: card, proof: try proof(ticket: ticket.id, card: card, secret: try ticket.secretBytes()),
                          signature: siteKeys.signatureText(over: bytes))
    }

    /// The card's own consistency: `site_id` derives from `url` and `sitekey`, and the site key
    /// signed the claim. Returns the site's public key.
    public func verifiedSiteKey() throws -> [UInt8] {
        let key = try Base64URL.decode(card.sitekey, what: "sitekey", length: SigningKeyPair.publicKeyLength)
        _ = try Base64URL.decode(card.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
        guard SiteID(url: try Names.normaliseSiteURL(card.url), publicKey: key) == card.siteID else {
            throw ModelError.invalidField("card.site_id", reason: "is not derived from the card's url and sitekey")
        }
        do { try SigningKeyPair.verify(signatureText: signature, over: Self.signedBytes(ticket: ticket, card: card), publicKey: key) } catch {
            throw ModelError.invalidField("signature", reason: "does not verify with the card's sitekey")
        }
        return key
    }
}

/// The answer to a claim: the channel identity (private key included) sealed to the claimant's
/// X25519 key, and how much there is to pull.
public struct CloneGrant: Sendable, Equatable, Codable {
    /// The inviting site: pages come from it, and name its `site_id`.
    public var site: SiteCard
    public var channel: PortableID
    public var nickname: String
    /// Seals a `ChannelExportDocument` without entries (format, identity, former keys), AAD
    /// `CloneGrant.binding`.
    public var identity: SealedPayload
    /// The inviting site's vector when it answered: the entries to pull.
    public var vector: VersionVector
    public var entries: Int

    public init(site: SiteCard, channel: PortableID, nickname: String, identity: SealedPayload, vector: VersionVector, entries: Int) {
        self.site = site
        self.channel = channel
        self.nickname = nickname
        self.identity = identity
        self.vector = vector
        self.entries = entries
    }

    /// `text("nomadsync/clone-identity/1") text(ticket id) text(inviting site_id) text(claimant site_id)`.
    public static func binding(ticket: String, inviter: SiteID, claimant: SiteID) -> [UInt8] {
        var w = BinaryWriter()
        w.text("nomadsync/clone-identity/1")
        w.text(ticket)
        w.text(inviter.text)
        w.text(claimant.text)
        return w.bytes
    }
}
