import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// Online bootstrap by ticket, engine side: the inviting site a, the new site b, pages handed
/// across in process (the HTTP is tested with real processes).
struct CloneTicketTests {
    let sync = PurgeTests()

    func inviter(entries: Int = 12) throws -> TestSite {
        let a = try TestSite(seed: 1)
        _ = try a.site.createChannel(nickname: "alice")
        for i in 0..<entries { _ = try a.put("alice", "item-\(i)", #"{"n":\#(i)}"#) }
        return a
    }

    func ticket(_ a: TestSite) throws -> CloneTicket {
        try CloneTicket(parsing: try a.site.inviteClone(nickname: "alice").ticket)
    }

    /// Pulls at most `pages` pages of 5 entries; returns how many entries came.
    @discardableResult
    func pull(_ b: TestSite, from a: TestSite, grant: CloneGrant, ticket: CloneTicket, channel: HostedChannel, pages: Int = .max) throws -> Int {
        var pulled = 0
        var left = pages
        for need in try b.site.bootstrapNeeds(channel, grant: grant) {
            var after = need.after
            while after < need.through, left > 0 {
                left -= 1
                let sealed = try a.site.serveClonePage(ticket: ticket.id, origin: need.origin, after: after, limit: 5, maxBytes: 1 << 20)
                let page = try b.site.openPage(sealed, channel: channel, serverID: grant.site.siteID, origin: need.origin, after: after)
                _ = try b.site.applyPage(page, channel: channel)
                after = page.entries.last?.seq ?? need.through
                pulled += page.entries.count
            }
        }
        return pulled
    }

    @Test func aTicketMakesACloneThatMatchesTheInviter() throws {
        let a = try inviter()
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try ticket(a)
        let grant = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        let channel = try b.site.beginBootstrap(grant, ticket: ticket)
        #expect(try b.site.channels().isEmpty, "a channel being bootstrapped is not listed")
        #expect(throws: EngineError.bootstrapping("alice")) { try b.site.discovery(nickname: "alice") }
        #expect(try pull(b, from: a, grant: grant, ticket: ticket, channel: channel) == grant.entries)
        _ = try b.site.finishBootstrap(channel, grant: grant)
        try sync.deliver(b, to: a)
        #expect(try a.site.liveLocations(of: a.site.channel(nickname: "alice")).count == 2)
        #expect(try a.digest("alice") == b.digest("alice"))
        #expect(try b.site.channelKeys(b.site.channel(nickname: "alice")).publicKey == a.site.channel(nickname: "alice").publicKey)
    }

    @Test func theGrantCarriesTheKeyOnlySealed() throws {
        let a = try inviter(entries: 0)
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try ticket(a)
        let grant = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        let seed = try a.site.channelKeys(a.site.channel(nickname: "alice")).seed.revealedCopy()
        let wire = try WireJSON.encode(grant)
        #expect(!wire.contains(Base64URL.encode(seed)))
        #expect(!wire.contains(ticket.secret), "the ticket's secret never crosses the wire")
        #expect(!(try WireJSON.encode(try b.site.cloneClaim(for: ticket))).contains(ticket.secret))
    }

    @Test func aBootstrapStoppedHalfwayResumesWhereItStopped() throws {
        let a = try inviter(entries: 30)
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try ticket(a)
        let first = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        let channel = try b.site.beginBootstrap(first, ticket: ticket)
        let before = try pull(b, from: a, grant: first, ticket: ticket, channel: channel, pages: 2)
        #expect(before == 10)
        #expect(throws: EngineError.self) { try b.site.finishBootstrap(channel, grant: first) }
        // The run is killed; the rerun claims the same ticket again and goes on.
        let again = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        let resumed = try b.site.beginBootstrap(again, ticket: ticket)
        #expect(resumed.nickname == channel.nickname)
        #expect(try pull(b, from: a, grant: again, ticket: ticket, channel: resumed) == again.entries - before)
        _ = try b.site.finishBootstrap(resumed, grant: again)
        #expect(try b.site.log(nickname: "alice").count == again.entries + 1, "every entry once, plus b's location")
    }

    @Test func aTicketCannotBeClaimedByASecondSite() throws {
        let a = try inviter(entries: 0)
        let b = try TestSite(url: "https://b.example", seed: 2)
        let c = try TestSite(url: "https://c.example", seed: 3)
        defer { a.remove(); b.remove(); c.remove() }
        let ticket = try ticket(a)
        _ = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        #expect(throws: EngineError.ticketRefused(.used, "the ticket was claimed by another site")) {
            try a.site.claimClone(try c.site.cloneClaim(for: ticket))
        }
    }

    @Test func aTicketIsUsedUpOnceItsSiteIsAClone() throws {
        let a = try inviter(entries: 3)
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try ticket(a)
        let grant = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
        let channel = try b.site.beginBootstrap(grant, ticket: ticket)
        try pull(b, from: a, grant: grant, ticket: ticket, channel: channel)
        _ = try b.site.finishBootstrap(channel, grant: grant)
        try sync.deliver(b, to: a)
        #expect { try a.site.claimClone(try b.site.cloneClaim(for: ticket)) } throws: { error in
            guard case EngineError.ticketRefused(.used, _) = error else { return false }
            return (error as? EngineError)?.refusal.status == 409
        }
    }

    @Test func aForgedProofIsRefusedAndLeavesTheTicketUnclaimed() throws {
        let a = try inviter(entries: 0)
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try ticket(a)
        var forged = ticket
        forged.secret = Base64URL.encode([UInt8](repeating: 7, count: 32))
        #expect { try a.site.claimClone(try b.site.cloneClaim(for: forged)) } throws: { error in
            guard case EngineError.ticketRefused(.forged, _) = error else { return false }
            return (error as? EngineError)?.refusal.status == 401
        }
        var stolen = try b.site.cloneClaim(for: ticket)
        stolen.card.url = "https://evil.example"
        #expect(throws: EngineError.self) { try a.site.claimClone(stolen) }
        _ = try a.site.claimClone(try b.site.cloneClaim(for: ticket))
    }

    @Test func anExpiredTicketIsRefused() throws {
        let a = try inviter(entries: 0)
        let b = try TestSite(url: "https://b.example", seed: 2)
        defer { a.remove(); b.remove() }
        let ticket = try CloneTicket(parsing: try a.site.inviteClone(nickname: "alice", lifetimeMilliseconds: 60_000).ticket)
        a.clock.advance(by: 60_001)
        #expect { try a.site.claimClone(try b.site.cloneClaim(for: ticket)) } throws: { error in
            guard case EngineError.ticketRefused(.expired, _) = error else { return false }
            return (error as? EngineError)?.refusal.status == 410
        }
    }

    @Test(arguments: ["", "nomadsync-ticket:", "nomadsync-ticket:!!!", "nomadsync-ticket:e30", "https://a.example"])
    func aMalformedTicketIsRefusedWithAClearError(_ text: String) {
        #expect(throws: ModelError.self) { try CloneTicket(parsing: text) }
    }
}
