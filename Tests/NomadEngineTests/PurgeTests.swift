import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// Deleting a channel everywhere (`purge`): every clone wipes it and answers 410; the purging
/// site keeps only what it must deliver, then wipes its copy too.
struct PurgeTests {
    func deliver(_ from: TestSite, to: TestSite, _ nick: String = "alice") throws {
        let target = try to.location(nick)
        for _ in 0..<20 {
            let packet = try from.site.nextPacket(channel: nick, to: target)
            _ = try to.site.acceptSync(try to.site.openSync(packet.envelope), token: UUID().uuidString)
            let (_, more) = try from.site.acknowledged(channel: try from.site.channel(nickname: nick), siteID: target.siteID,
                                                            positions: packet.positions)
            if !more { break }
        }
    }

    func pair() throws -> (TestSite, TestSite) {
        let (a, b) = try TestSite.clonedPair()
        try deliver(b, to: a)
        return (a, b)
    }

    @Test func aPurgeWipesEveryCloneAndTheySay410() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        _ = try a.put("alice", "secret-item", #"{"text":"private"}"#)
        try deliver(a, to: b)
        let outcome = try a.site.purge(nickname: "alice")
        #expect(outcome.pendingLocations == 1 && !outcome.wiped)
        #expect(try a.site.syncStatus(nickname: "alice").purged)
        #expect(throws: EngineError.purged("alice")) { try a.site.append(nickname: "alice", [Change(entity: "item", key: "x", op: .put, body: "{}")]) }
        #expect(throws: EngineError.purged("alice")) { try a.site.discovery(nickname: "alice") }

        try deliver(a, to: b)
        for site in [a, b] {
            #expect(throws: EngineError.purged("alice")) { try site.site.syncStatus(nickname: "alice") }
            #expect(throws: EngineError.purged("alice")) { try site.site.actor(nickname: "alice") }
            #expect(try site.site.channels().isEmpty, "a wiped channel is still listed")
            #expect(throws: (any Error).self) { try site.site.channelKeys(site.site.channel(nickname: "alice")) }
            #expect(try site.site.log(nickname: "alice").isEmpty)
            #expect(try site.site.state(nickname: "alice", includeDeleted: true).isEmpty)
        }
    }

    @Test func aClonesPacketToAPurgedSiteIsRefusedWith410() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        _ = try b.put("alice", "late", "{}")
        try a.site.purge(nickname: "alice")
        let packet = try b.site.nextPacket(channel: "alice", to: a.location("alice"))
        #expect(throws: EngineError.purged("alice")) { try a.site.openSync(packet.envelope) }
    }

    @Test func aPurgeWithNoOtherLocationWipesAtOnce() throws {
        let a = try TestSite(seed: 1)
        defer { a.remove() }
        _ = try a.site.createChannel(nickname: "solo")
        let outcome = try a.site.purge(nickname: "solo")
        #expect(outcome.wiped && outcome.pendingLocations == 0)
        #expect(throws: EngineError.purged("solo")) { try a.site.syncStatus(nickname: "solo") }
    }

    @Test func aLocalChangeCannotWriteAPurgeEntry() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        #expect(throws: EngineError.self) {
            try a.site.append(nickname: "alice", [Change(entity: "purge", key: "channel", op: .put, body: "{}")])
        }
        #expect(try !a.site.syncStatus(nickname: "alice").purged)
    }
}
