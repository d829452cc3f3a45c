import Foundation
import Logging
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport

/// How far a bootstrap got, for a progress bar or log lines.
public struct BootstrapProgress: Sendable, Equatable {
    public var channel: String
    /// Entries pulled in this run, and the bytes of their bodies.
    public var entries: Int
    public var bytes: Int
    /// Entries the inviting site holds that this site still lacked when this run started.
    public var total: Int
    public var seconds: Double

    /// Entries per second in this run.
    public var rate: Double { seconds > 0 ? Double(entries) / seconds : 0 }
    /// Seconds left at the current rate, when known.
    public var eta: Double? { rate > 0 ? Double(max(total - entries, 0)) / rate : nil }
}

/// What a finished bootstrap did.
public struct BootstrapOutcome: Sendable, Equatable, Codable {
    public var channel: String
    public var portableID: PortableID
    /// Entries pulled in this run (a resumed run pulls only what was missing).
    public var pulled: Int
    /// The locations that acknowledged this site's new `location` entry at once.
    public var announcedTo: [String]
    /// Blobs fetched, and blobs still missing (the node goes on fetching them).
    public var blobs: Int
    public var missingBlobs: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case channel, pulled, seconds
        case portableID = "portable_id"
        case announcedTo = "announced_to"
        case missingBlobs = "missing_blobs"
        case blobs
    }
}

/// Why a bootstrap stopped.
public struct BootstrapError: Error, CustomStringConvertible {
    public var description: String
}

/// Makes this site a clone of a channel from a ticket (`nomadsync clone accept`,
/// `POST /api/v1/clones/accept`): claims the ticket, creates the channel (or resumes the one a
/// killed run left), pulls every entry the inviting site holds page by page — committing each
/// page, so a rerun goes on where it stopped — then writes this site's `location` and pushes it
/// to every location at once. The engine decides each step; this carries out the HTTP.
public struct CloneBootstrapper: Sendable {
    public let site: Site
    public let client: CloneClient
    public let sync: SyncClient
    public let transport: any HTTPTransport
    public var pageSize = 500
    public var maxBytes = 2 * 1024 * 1024

    public init(site: Site, transport: any HTTPTransport) {
        self.site = site
        client = CloneClient(transport: transport, random: site.random, maxDepth: site.limits.maxJSONDepth)
        sync = SyncClient(transport: transport, random: site.random, maxDepth: site.limits.maxJSONDepth)
        self.transport = transport
    }

    public func run(_ ticket: CloneTicket, progress: @Sendable (BootstrapProgress) -> Void = { _ in }) async throws -> BootstrapOutcome {
        let started = Date()
        let me = try site.identity()
        let grant: CloneGrant
        switch await client.claim(try site.cloneClaim(for: ticket), at: ticket.url) {
        case .answered(let answer): grant = answer
        case .refused(let refusal): throw BootstrapError(description: "the inviting site refused the ticket: \(refusal.description)")
        case .unreachable(let reason): throw BootstrapError(description: "the inviting site cannot be reached: \(reason)")
        }
        let channel = try site.beginBootstrap(grant, ticket: ticket)
        let needs = try site.bootstrapNeeds(channel, grant: grant)
        var state = BootstrapProgress(channel: channel.nickname, entries: 0, bytes: 0,
                                      total: needs.reduce(0) { total, need in
                                          // Saturating: the counts come from the inviting site.
                                          let (sum, overflow) = total.addingReportingOverflow(Int(clamping: need.through - need.after))
                                          return overflow ? Int.max : sum
                                      }, seconds: 0)
        progress(state)
        let clock = site.clock
        for need in needs {
            var after = need.after
            // Bounded: every page holds at least one entry, and there are `through - after` to get.
            for _ in 0..<Int(clamping: need.through - need.after) where after < need.through {
                let answer = await client.page(ticket: ticket.id, origin: need.origin, after: after, limit: pageSize, at: grant.site.url,
                                               siteKeys: me.signing, siteURL: me.url, now: clock.nowMilliseconds())
                let sealed: SealedPage
                switch answer {
                case .answered(let page): sealed = page
                case .refused(let refusal): throw BootstrapError(description: "a page was refused: \(refusal.description); rerun to resume")
                case .unreachable(let reason): throw BootstrapError(description: "the inviting site cannot be reached: \(reason); rerun to resume")
                }
                let page = try site.openPage(sealed, channel: channel, serverID: grant.site.siteID, origin: need.origin, after: after)
                guard let last = page.entries.last?.seq, last > after else {
                    throw BootstrapError(description: "the inviting site has no entries of \(need.origin.text) after \(after) although it granted up to \(need.through)")
                }
                _ = try site.applyPage(page, channel: channel)
                after = last
                state.entries += page.entries.count
                state.bytes += page.entries.reduce(0) { $0 + $1.body.utf8.count }
                state.seconds = Date().timeIntervalSince(started)
                progress(state)
            }
        }
        let served = try site.finishBootstrap(channel, grant: grant)
        let announced = await LocationAnnouncer(site: site, client: sync).announce(served)
        // The files' bytes come from the clones now that this site is one of them.
        let (blobs, _) = await BlobFetcher(site: site, transport: transport).runOnce(served, dueOnly: false)
        let missing = (try? site.missingBlobs(nickname: served.nickname).count) ?? 0
        return BootstrapOutcome(channel: served.nickname, portableID: served.portableID, pulled: state.entries, announcedTo: announced,
                                blobs: blobs, missingBlobs: missing, seconds: Date().timeIntervalSince(started))
    }
}
