import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// A site heartbeat opened and checked but not yet accepted.
public struct OpenedSiteHeartbeat: Sendable {
    public var data: SiteHeartbeatData
    /// A live location of the sending site (of the first reported channel it is a location of
    /// here): its `url` names the key id, its `sitekey` verifies the request.
    public var sender: Location
    /// The sending site's Ed25519 public key.
    public var siteKey: [UInt8]

    /// The key id the request must be signed with: `<sender site url>#ed25519` (the form a clone bootstrap signs its page requests with).
    public var keyID: String { "\(sender.url)#ed25519" }
}

/// What accepting a site heartbeat did.
public struct AcceptedSiteHeartbeat: Sendable {
    /// One status per reported channel, in the order reported.
    public var statuses: [ChannelReportStatus]
    /// Channels whose `diverged` alarm this heartbeat raised (nicknames).
    public var diverged: [String]
    /// Channels whose writer this site renewed because the report showed it had been reused.
    public var healed: [(nickname: String, report: WriterHealReport)]
    public var recorded: Int { statuses.count { $0.status == ChannelReportStatus.recorded } }
}

extension Site {
    /// Opens a site heartbeat addressed to this site, read-only (docs/PROTOCOL.md §7.7): the
    /// envelope names this site, the payload opens with its X25519 key and the binding of both
    /// sites, the reports are well formed, and the sending site is a live location of at least one
    /// reported channel here (which gives its site key). The caller verifies the request's
    /// signature with `siteKey` under `keyID`, then calls `acceptSiteHeartbeat`.
    public func openSiteHeartbeat(_ heartbeat: SiteHeartbeat) throws -> OpenedSiteHeartbeat {
        try heartbeat.validateHeader()
        let site = try identity()
        guard heartbeat.recipient == site.siteID else {
            throw EngineError.notForThisSite("the heartbeat is addressed to site \(heartbeat.recipient.text), not this one")
        }
        let plain = try heartbeat.data.open(with: site.seal, additionalData: SiteHeartbeat.binding(from: heartbeat.siteID, to: site.siteID))
        let data = try WireJSON.decode(SiteHeartbeatData.self, from: Data(plain), what: "heartbeat data", maxDepth: limits.maxJSONDepth)
        try data.validate(envelope: heartbeat)
        let sender = try store.read { tx -> Location? in
            for report in data.channels {
                guard let named = try channel(named: report.channel, in: tx) else { continue }
                if let location = try Self.locations(channel: named.channel, in: tx).first(where: { $0.siteID == data.from && !$0.deleted }) {
                    return location
                }
            }
            return nil
        }
        guard let sender, let key = try? Base64URL.decode(sender.sitekey, what: "sitekey", length: SigningKeyPair.publicKeyLength),
              SiteID(url: sender.url, publicKey: key) == data.from else {
            throw EngineError.unknownSender(data.from.text)
        }
        return OpenedSiteHeartbeat(data: data, sender: sender, siteKey: key)
    }

    /// Accepts an opened heartbeat in **one** transaction: the request token (refused if seen in
    /// the last `tokenWindow` ms), then each channel's report, recorded exactly as a heartbeat
    /// `sync` of that channel would record it (the location is online, its backoff is over, its
    /// vector and digest are kept and compared). A channel the report cannot be recorded for gets
    /// its status and changes nothing.
    public func acceptSiteHeartbeat(_ opened: OpenedSiteHeartbeat, token: String,
                                    tokenWindow: UInt64 = 30 * 60 * 1000) throws -> AcceptedSiteHeartbeat {
        let now = clock.nowMilliseconds()
        let from = opened.data.from
        return try store.write { tx in
            guard try tx.recordToken(token, now: now, windowStart: now > tokenWindow ? now - tokenWindow : 0) else {
                throw EngineError.replayedToken(windowMinutes: tokenWindow / 60_000)
            }
            var accepted = AcceptedSiteHeartbeat(statuses: [], diverged: [], healed: [])
            var news = false
            for report in opened.data.channels {
                let status = try record(report, from: from, into: &accepted, news: &news, in: tx)
                accepted.statuses.append(ChannelReportStatus(channel: report.channel, status: status))
            }
            // Reports of what was already known change no delivery plan: an idle node does not
            // plan every channel again for each heartbeat it receives.
            if !news { tx.markQuiet() }
            return accepted
        }
    }

    private func record(_ report: ChannelReport, from siteID: SiteID, into accepted: inout AcceptedSiteHeartbeat,
                        news: inout Bool, in tx: StoreTransaction) throws -> String {
        guard let named = try channel(named: report.channel, in: tx), named.valid else { return ChannelReportStatus.unknownChannel }
        let channel = named.channel
        guard channel.purgedAt == nil, channel.bootstrap == nil, try !isRetired(channel, in: tx) else { return ChannelReportStatus.notServed }
        guard try Self.locations(channel: channel, in: tx).contains(where: { $0.siteID == siteID && !$0.deleted }) else {
            return ChannelReportStatus.unknownLocation
        }
        var changed = false
        if try recordReport(channel: channel, from: siteID, vector: report.vector, digest: report.digest, news: &changed, in: tx) == .diverged {
            accepted.diverged.append(channel.nickname)
        }
        if let fresh = try tx.channel(rowID: channel.rowID), try staleWriterCause(channel: fresh, in: tx) != nil {
            accepted.healed.append((channel.nickname, try rotateWriter(channel: fresh, site: try identity(in: tx), in: tx).report))
            changed = true
        }
        if changed { news = true }
        return ChannelReportStatus.recorded
    }
}
