import NomadCrypto
import NomadModel
import NomadStore

extension Site {
    /// The discovery document of a channel hosted here (DESIGN §6): identity, the signed
    /// locations list (each `url_sig` by the channel key), and this site, signed by the site key.
    public func discovery(nickname: String) throws -> DiscoveryDocument {
        let site = try identity()
        let channel = try record(nickname: nickname)
        try store.read { try ensurePublished(channel, in: $0) }
        let keys = try channelKeys(channel)
        let locations = try store.read { tx in
            try tx.stateRows(channel: channel.rowID, entity: "location").compactMap { row -> Location? in
                guard row.op == .put else { return nil }
                return try? WireJSON.decode(Location.self, from: row.body, what: "location")
            }
        }
        return DiscoveryDocument(
            id: channel.guid, idSig: keys.signatureText(over: Array(channel.guid.utf8)),
            publicKey: Base64URL.encode(channel.publicKey), portableID: channel.portableID, name: channel.name,
            nickname: channel.nickname, locations: locations.sorted { ($0.primary ? 0 : 1, $0.url) < ($1.primary ? 0 : 1, $1.url) },
            site: SiteInfo(url: site.url, siteID: site.siteID, siteSig: site.signing.signatureText(over: Array(site.url.utf8)),
                           sitekey: Base64URL.encode(site.signing.publicKey), sealkey: Base64URL.encode(site.seal.publicKey)))
    }

    /// The ActivityPub actor data of a channel at this location (DESIGN §6): `copiedTo` and
    /// `alsoKnownAs` name the other live locations (linked ids join `alsoKnownAs` with rekey),
    /// and the channel key is a Multikey in `assertionMethod`. Built from the replicated
    /// `location` entries only, so every clone lists the same set of locations. After a
    /// migration away from this site, `movedTo` names the new primary.
    public func actor(nickname: String) throws -> ActorDocument {
        let site = try identity()
        let channel = try record(nickname: nickname)
        try store.read { try ensurePublished(channel, in: $0) }
        let here = "\(site.url)/channel/\(channel.nickname)"
        let (others, linked) = try store.read { tx in
            (try Self.locations(channel: channel, in: tx).filter { !$0.deleted }.map(\.idURL).filter { $0 != here }.sorted(),
             try tx.formerKeys(channel: channel.rowID).filter(\.valid).map(\.portableID))
        }
        // A channel whose rekey linked its ids is known by all of them (current first).
        let ids = linked.isEmpty ? [] : ([channel.portableID] + linked.sorted()).map(ActorDocument.iri(portableID:))
        return ActorDocument(id: here, preferredUsername: channel.nickname, name: channel.name, copiedTo: others,
                             alsoKnownAs: others + ids, movedTo: channel.movedTo, publicKey: channel.publicKey)
    }

    /// The WebFinger answer for `acct:nick@host`, or nil when the resource is not a channel here.
    public func webfinger(resource: String) throws -> WebFingerDocument? {
        let site = try store.read { try $0.site() }
        guard let site else { throw EngineError.siteNotInitialised }
        var account = resource
        if account.hasPrefix("acct:") { account.removeFirst(5) }
        let parts = account.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].lowercased() == Names.host(of: site.url).lowercased(),
              let channel = try store.read({ try $0.channel(nickname: String(parts[0])) }) else { return nil }
        try store.read { try ensurePublished(channel, in: $0) }
        // After a migration away, the channel's home is the new primary: links point there.
        let home = channel.movedTo ?? "\(site.url)/channel/\(channel.nickname)"
        let others = try store.read { try Self.locations(channel: channel, in: $0) }
            .filter { !$0.deleted }.map(\.idURL).filter { $0 != home }.sorted()
        return WebFingerDocument(
            subject: "acct:\(channel.nickname)@\(Names.host(of: site.url))", aliases: [home] + others,
            links: [.init(rel: "http://purl.org/zot/protocol/6.0", type: "application/x-zot+json", href: home),
                    .init(rel: "self", type: "application/activity+json", href: home)])
    }
}
