import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// What `status` says about each location.
struct StatusTests {
    let sync = PurgeTests()

    func row(_ site: TestSite, _ other: TestSite) throws -> LocationStatus {
        let id = try other.site.identity().siteID
        return try #require(try site.site.syncStatus(nickname: "alice").locations.first { $0.siteID == id })
    }

    @Test func aCloneThatLacksEntriesIsCatchingUpWithItsProgress() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try sync.deliver(b, to: a)
        let held = try row(a, b)
        #expect(held.state == .online && held.progress == nil)
        for i in 0..<3 { _ = try a.put("alice", "k\(i)", "{}") }
        let behind = try row(a, b)
        #expect(behind.state == .catchingUp)
        let total = Double(try a.site.log(nickname: "alice").count)
        let expected = ((total - 3) / total * 1000).rounded(.down) / 10
        #expect(behind.progress == expected, "\(behind.progress ?? -1) vs \(expected)")
        try sync.deliver(a, to: b)
        try sync.deliver(b, to: a)
        #expect(try row(a, b).state == .online)
    }

    @Test func aCloneThatRefusesIsShownRefusingWithTheReasonUntilItAcknowledges() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try sync.deliver(b, to: a)
        _ = try a.put("alice", "k", "{}")
        let channel = try a.site.channel(nickname: "alice")
        let bID = try b.site.identity().siteID
        try a.site.deliveryFailed(channel: channel, siteID: bID, reason: "HTTP 401: the signature does not verify", unreachable: false)
        let refusing = try row(a, b)
        #expect(refusing.state == .refusing && refusing.lastError?.contains("401") == true)
        try sync.deliver(a, to: b)
        #expect(try row(a, b).state != .refusing)
    }
}
