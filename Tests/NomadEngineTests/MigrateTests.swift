import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// Migrating a channel's primary location from one clone to another.
struct MigrateTests {
    let sync = PurgeTests()

    /// a and b clones of alice, each having heard the other's report.
    func pair() throws -> (TestSite, TestSite) {
        let (a, b) = try TestSite.clonedPair()
        try sync.deliver(b, to: a)
        return (a, b)
    }

    func primary(_ site: TestSite) throws -> [String] {
        try site.site.discovery(nickname: "alice").locations.filter { $0.primary && !$0.deleted }.map(\.url)
    }

    @Test func aMigrationMakesTheTargetPrimaryAndTheActorHereNamesItInMovedTo() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        let bURL = try b.site.identity().url
        let outcome = try a.site.migrate(nickname: "alice", to: bURL)
        #expect(outcome.to == bURL && outcome.movedTo == "\(bURL)/channel/alice")
        #expect(try a.site.actor(nickname: "alice").movedTo == outcome.movedTo)
        #expect(try primary(a) == [bURL], "this site's discovery names the new primary")
        let webfinger = try #require(try a.site.webfinger(resource: "acct:alice@a.example"))
        #expect(webfinger.links.allSatisfy { $0.href == outcome.movedTo })
        #expect(throws: EngineError.retired("alice")) { try a.put("alice", "late", "{}") }

        try sync.deliver(a, to: b)
        #expect(try primary(b) == [bURL])
        #expect(try b.site.actor(nickname: "alice").movedTo == nil)
        #expect(try b.site.actor(nickname: "alice").copiedTo.isEmpty, "the old location is gone from copiedTo")
        #expect(try a.digest("alice") == b.digest("alice"))
        _ = try b.put("alice", "on-b", "{}")
    }

    @Test func aTargetThatHasNotReportedEverythingIsRefused() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        _ = try a.put("alice", "not-yet-on-b", "{}")
        #expect {
            try a.site.migrate(nickname: "alice", to: try b.site.identity().url)
        } throws: { error in
            guard case EngineError.notCaughtUp(_, let behind, let queued, _) = error else { return false }
            return behind == 1 && queued == 1 && (error as? EngineError)?.refusal.status == 409
        }
        #expect(try a.site.actor(nickname: "alice").movedTo == nil, "a refused migration changed nothing")
    }

    @Test func onlyALiveOtherCloneCanBeTheTarget() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        #expect(throws: EngineError.self) { try a.site.migrate(nickname: "alice", to: "https://a.example") }
        #expect(throws: EngineError.self) { try a.site.migrate(nickname: "alice", to: "https://elsewhere.example") }
    }
}
