import Foundation
import NomadModel
import NomadStore
import Testing
@testable import NomadEngine

/// The delivery worker plans every channel again only when `Site.deliveryMarker()` moved: for
/// any commit of another process, and for this process's commits that were not quiet.
@Suite struct DeliveryMarkerTests {
    @Test func aQuietCommitLeavesTheMarkerAndALoudOneMovesIt() throws {
        let a = try TestSite()
        defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let before = try a.site.deliveryMarker()
        _ = try a.site.store.write { tx in
            tx.markQuiet()
            return try tx.recordToken("quiet", now: TestSite.start, windowStart: 0)
        }
        #expect(try a.site.deliveryMarker() == before)
        _ = try a.put("alice", "note", #"{"n":1}"#)
        #expect(try a.site.deliveryMarker() != before)
    }

    @Test func aCommitOfAnotherProcessMovesTheMarker() throws {
        let a = try TestSite()
        defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let before = try a.site.deliveryMarker()
        // Another connection on the same database file, as the CLI opens while a node runs.
        let other = try TestSite(restoring: a.directory, seed: 9, clock: a.clock)
        _ = try other.put("alice", "from-the-cli", #"{"n":2}"#)
        let after = try a.site.deliveryMarker()
        #expect(after.othersCommits != before.othersCommits)
        #expect(after.loudCommits == before.loudCommits, "this process committed nothing")
    }

    @Test func aReportOfWhatWasKnownIsNoNews() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        let channel = try b.site.channel(nickname: "alice").record
        let aID = try a.site.identity().siteID
        let status = try a.site.syncStatus(nickname: "alice")
        let aliceAtA = try a.site.channel(nickname: "alice").record
        let vector = try a.site.store.read { try $0.vector(channel: aliceAtA.rowID) }
        func record(_ vector: VersionVector) throws -> Bool {
            var news = false
            try b.site.store.write { tx in
                _ = try b.site.recordReport(channel: channel, from: aID, vector: vector, digest: status.digest, news: &news, in: tx)
            }
            return news
        }
        _ = try record(vector)
        b.clock.advance(by: 1_000)
        #expect(try !record(vector), "the same vector and digest again")
        var ahead = vector
        ahead[aliceAtA.writer] = vector[aliceAtA.writer] + 1
        #expect(try record(ahead), "a vector ahead of the last one: there may be something to pull")
    }

    @Test func anAcknowledgedHeartbeatIsQuietUnlessALocationCameBack() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        let alice = try a.site.channel(nickname: "alice")
        let bID = try b.site.identity().siteID
        _ = try a.site.heartbeatAcknowledged(channels: [alice], siteID: bID, at: TestSite.start)
        let before = try a.site.deliveryMarker()
        _ = try a.site.heartbeatAcknowledged(channels: [alice], siteID: bID, at: TestSite.start + 30_000)
        #expect(try a.site.deliveryMarker() == before, "only the time of the last heartbeat moved")

        _ = try a.site.deliveryFailed(channels: [alice], siteID: bID, reason: "test", backoff: Backoff(baseMilliseconds: 1_000, capMilliseconds: 1_000))
        let offline = try a.site.deliveryMarker()
        #expect(try a.site.heartbeatAcknowledged(channels: [alice], siteID: bID, at: TestSite.start + 60_000) == ["alice"])
        #expect(try a.site.deliveryMarker() != offline, "a location back online changes what is due")
    }

    @Test func anAcknowledgedHeartbeatNeverMovesTheLastDeliveryBack() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        let alice = try a.site.channel(nickname: "alice")
        let bID = try b.site.identity().siteID
        _ = try a.site.heartbeatAcknowledged(channels: [alice], siteID: bID, at: TestSite.start + 5_000)
        _ = try a.site.heartbeatAcknowledged(channels: [alice], siteID: bID, at: TestSite.start + 1_000)
        let peer = try a.site.store.read { try $0.peer(channel: alice.rowID, siteID: bID) }
        #expect(peer?.lastDelivered == TestSite.start + 5_000)
    }
}

/// A site heartbeat that reports what the receiver already recorded is quiet there.
@Suite struct QuietSiteHeartbeatTests {
    /// Sites a and b share alice and know each other's location; `a`'s site heartbeat to b.
    static func heartbeat(from a: TestSite, to b: TestSite) throws -> SiteHeartbeat {
        let action = try #require(try DeliveryPlanner(site: a.site).siteHeartbeats().first)
        return try WireJSON.decode(SiteHeartbeat.self, from: Data(action.body), what: "heartbeat", maxDepth: 64)
    }

    @Test func aHeartbeatReportingNothingNewLeavesTheReceiversMarker() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))  // a learns b's location
        let opened = try b.site.openSiteHeartbeat(try Self.heartbeat(from: a, to: b))
        _ = try b.site.acceptSiteHeartbeat(opened, token: "first")
        let before = try b.site.deliveryMarker()
        b.clock.advance(by: 30_000)
        let again = try b.site.acceptSiteHeartbeat(opened, token: "second")
        #expect(again.recorded == 1)
        #expect(try b.site.deliveryMarker() == before, "the same report again: no channel needs planning")

        // b's own attempts at a failed meanwhile: hearing from a ends its backoff, which is news.
        _ = try b.site.deliveryFailed(channels: [try b.site.channel(nickname: "alice")], siteID: try a.site.identity().siteID,
                                      reason: "test", backoff: Backoff(baseMilliseconds: 60_000, capMilliseconds: 60_000))
        let offline = try b.site.deliveryMarker()
        _ = try b.site.acceptSiteHeartbeat(opened, token: "third")
        #expect(try b.site.deliveryMarker() != offline, "a is back online for b: what b sends it is due again")
    }
}
