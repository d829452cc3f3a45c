import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// Catch-up does not pull what the origin's own site is pushing (each entry crosses once), and
/// pulls as soon as the push cannot bring it.
@Suite struct CatchUpOverlapTests {
    struct Pushing {
        var a: TestSite
        var b: TestSite
        var writer: OriginID
        /// a's seq of b's writer after the packet, and b's.
        var held: UInt64
        var total: UInt64
        func remove() { a.remove(); b.remove() }
    }

    /// b writes ten entries; a accepts b's packet with the oldest four queued, whose vector says more.
    static func pushing() throws -> Pushing {
        let (a, b, _) = try DeliveryPlannerTests.pair()
        for i in 0..<10 { _ = try b.put("alice", "k\(i)", "{}") }
        let packet = try b.site.nextPacket(channel: "alice", to: try a.location("alice"), maxEntries: 4)
        _ = try a.site.acceptSync(try a.site.openSync(packet.envelope), token: "t-\(UUID().uuidString)")
        let writer = try b.site.channel(nickname: "alice").writer
        return Pushing(a: a, b: b, writer: writer, held: try a.site.channelStatus(nickname: "alice").vector[writer],
                       total: try b.site.channelStatus(nickname: "alice").vector[writer])
    }

    static func need(_ site: TestSite, _ origin: OriginID) throws -> CatchUpNeed? {
        try site.site.catchUpNeeds(channel: "alice", pushGrace: 30_000).first { $0.origin == origin }
    }

    @Test func entriesTheirOriginIsPushingAreNotPulledToo() throws {
        let p = try Self.pushing(); defer { p.remove() }
        let (a, b, writer) = (p.a, p.b, p.writer)
        #expect(p.held < p.total, "a still lacks entries b reported")
        _ = b
        #expect(try Self.need(a, writer) == nil)
    }

    @Test func anEmptyHeartbeatFromTheOriginMakesTheRestDueForAPull() throws {
        let p = try Self.pushing(); defer { p.remove() }
        let (a, b, writer) = (p.a, p.b, p.writer)
        a.clock.advance(by: 1)
        let status = try b.site.channelStatus(nickname: "alice")
        _ = try a.site.heard(channel: try a.site.channel(nickname: "alice"), from: try b.site.identity().siteID,
                             vector: status.vector, digest: status.digest)
        let need = try #require(try Self.need(a, writer))
        #expect(need.after == p.held && need.through == p.total)
    }

    @Test func theOriginIsPulledFromOnceItsPushGoesQuietForTheGrace() throws {
        let p = try Self.pushing(); defer { p.remove() }
        let (a, b, writer) = (p.a, p.b, p.writer)
        a.clock.advance(by: 29_000)
        #expect(try Self.need(a, writer) == nil)
        a.clock.advance(by: 1_001)
        #expect(try Self.need(a, writer)?.after == p.held)
        _ = b
    }

    @Test func aGapBelowAHeldEntryIsPulledWhileTheOriginPushes() throws {
        let p = try Self.pushing(); defer { p.remove() }
        let (a, b, writer) = (p.a, p.b, p.writer)
        let seventh = try #require(try b.site.log(nickname: "alice").first { $0.origin == writer && $0.seq == p.held + 3 })
        _ = try a.site.replay(nickname: "alice", [seventh])
        a.clock.advance(by: Site.reorderGrace)
        let need = try #require(try Self.need(a, writer), "a pushed entry cannot fill a gap below one held this long")
        #expect(need.after == p.held)
    }

    @Test func aGapBelowAnEntryHeldAMomentAgoIsLeftToThePush() throws {
        let p = try Self.pushing(); defer { p.remove() }
        let (a, b, writer) = (p.a, p.b, p.writer)
        // The packet after the next one came first: the next one is most likely on its way.
        let seventh = try #require(try b.site.log(nickname: "alice").first { $0.origin == writer && $0.seq == p.held + 3 })
        _ = try a.site.replay(nickname: "alice", [seventh])
        a.clock.advance(by: Site.reorderGrace - 1)
        #expect(try Self.need(a, writer) == nil)
    }

    @Test func aCatchUpTransfersEachEntryOnce() throws {
        let (a, b, aPlanner) = try DeliveryPlannerTests.pair(); defer { a.remove(); b.remove() }
        let bPlanner = DeliveryPlanner(site: b.site, policy: DeliveryPlannerTests.policy)
        // b was away while a wrote 1,200 entries; now both run their passes: a pushes its
        // outbox, b pulls whatever it knows it lacks.
        for i in 0..<1_200 { _ = try a.put("alice", "k\(i)", "{}") }
        let origin = try a.site.channel(nickname: "alice").writer
        var pushed = 0
        var pulled = 0
        for _ in 0..<20 {
            for send in try aPlanner.sends(channel: try a.site.channel(nickname: "alice")) where !send.isHeartbeat {
                _ = try b.site.acceptSync(try b.site.openSync(send.packet.envelope), token: "t-\(UUID().uuidString)")
                _ = try aPlanner.record(.answered(DeliveryAnswer(deliveryReport: [])), of: send)
                pushed += send.packet.entryCount
            }
            for pull in try bPlanner.pulls(channel: try b.site.channel(nickname: "alice")) {
                let page = try a.site.servePage(channel: try a.site.channel(nickname: "alice"), to: try b.location("alice"),
                                                origin: pull.origin, after: pull.after, limit: pull.limit)
                if case .applied(_, let count) = try bPlanner.record(.answered(page), of: pull).event { pulled += count }
            }
            if try b.site.channelStatus(nickname: "alice").vector[origin] == a.site.channelStatus(nickname: "alice").vector[origin] { break }
        }
        #expect(try b.digest("alice") == a.digest("alice"))
        #expect(pushed + pulled == 1_200, "pushed \(pushed), pulled \(pulled): some entries crossed twice")
    }

    /// a wrote 1,200 entries while b was away; b heard a's vector from an empty heartbeat (so
    /// all of them are due for a pull) and pulled the first page.
    static func pulling() throws -> (a: TestSite, b: TestSite, aPlanner: DeliveryPlanner, bPlanner: DeliveryPlanner, pull: PullAction, page: SealedPage) {
        let (a, b, aPlanner) = try DeliveryPlannerTests.pair()
        let bPlanner = DeliveryPlanner(site: b.site, policy: DeliveryPlannerTests.policy)
        for i in 0..<1_200 { _ = try a.put("alice", "k\(i)", "{}") }
        let origin = try a.site.channel(nickname: "alice").writer
        let status = try a.site.channelStatus(nickname: "alice")
        b.clock.advance(by: 1)
        _ = try b.site.heard(channel: try b.site.channel(nickname: "alice"), from: try a.site.identity().siteID,
                             vector: status.vector, digest: status.digest)
        let pull = try #require(try bPlanner.pulls(channel: try b.site.channel(nickname: "alice")).first { $0.origin == origin })
        let page = try a.site.servePage(channel: try a.site.channel(nickname: "alice"), to: try b.location("alice"),
                                        origin: pull.origin, after: pull.after, limit: pull.limit)
        return (a, b, aPlanner, bPlanner, pull, page)
    }

    @Test func aPullGoesOnPageByPageWhileNothingIsPushed() throws {
        let p = try Self.pulling(); defer { p.a.remove(); p.b.remove() }
        let step = try p.bPlanner.record(.answered(p.page), of: p.pull)
        #expect(step.next?.after == p.pull.after + UInt64(p.pull.limit))
    }

    @Test func aPullStopsOnceTheOriginStartsPushingTheRest() throws {
        let p = try Self.pulling(); defer { p.a.remove(); p.b.remove() }
        // a's outbox starts delivering while the pull's first page is on its way.
        let send = try #require(try p.aPlanner.sends(channel: try p.a.site.channel(nickname: "alice")).first { !$0.isHeartbeat })
        p.b.clock.advance(by: 1)
        _ = try p.b.site.acceptSync(try p.b.site.openSync(send.packet.envelope), token: "t-\(UUID().uuidString)")
        p.b.clock.advance(by: 1)  // the page is recorded after the push: it must not hide it
        let step = try p.bPlanner.record(.answered(p.page), of: p.pull)
        #expect(step.next == nil, "the rest comes by push; pulling on would bring it twice")
    }
}
