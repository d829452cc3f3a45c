import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// The planner's decisions, driven by hand: no network, the answers are made up.
@Suite struct DeliveryPlannerTests {
    static let policy = DeliveryPolicy(heartbeatMilliseconds: 30_000)

    /// a and b clone alice and know each other; nothing is queued.
    static func pair() throws -> (TestSite, TestSite, DeliveryPlanner) {
        let (a, b) = try TestSite.clonedPair()
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let planner = DeliveryPlanner(site: a.site, policy: policy)
        for send in try planner.sends(channel: try a.site.channel(nickname: "alice")) {
            _ = try planner.record(.answered(DeliveryAnswer(deliveryReport: [])), of: send)
        }
        return (a, b, planner)
    }

    static func channel(_ site: TestSite) throws -> HostedChannel { try site.site.channel(nickname: "alice") }

    static func refusal(_ status: Int, code: String? = nil, origin: String? = nil, seq: UInt64? = nil) -> PeerAnswer<DeliveryAnswer> {
        .refused(PeerRefusal(url: "https://b.example", status: status, body: ErrorBody(message: "no", code: code, origin: origin, seq: seq)))
    }

    @Test func aNewLocationGetsAHeartbeatAtOnce() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let sends = try DeliveryPlanner(site: a.site, policy: Self.policy).sends(channel: try Self.channel(a))
        #expect(sends.count == 1)
        #expect(sends.first?.isHeartbeat == true)
    }

    @Test func afterAnAckNothingIsDueUntilTheHeartbeatInterval() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let plan = try planner.plan(channel: try Self.channel(a))
        #expect(plan.sends.isEmpty)
        #expect(plan.wakeAt == a.clock.nowMilliseconds() + 30_000)
        a.clock.advance(by: 30_000)
        #expect(try planner.sends(channel: try Self.channel(a)).map(\.isHeartbeat) == [true])
    }

    @Test func aHeartbeatThatFellDueDuringAPassWaitsForTheNextSiteHeartbeat() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let passStart = a.clock.nowMilliseconds() + 29_000
        a.clock.advance(by: 31_000)
        let plan = try planner.plan(channel: try Self.channel(a), heartbeatsAsOf: passStart)
        #expect(plan.sends.isEmpty)
        #expect(try #require(plan.wakeAt) <= a.clock.nowMilliseconds())  // the next pass comes at once
        // Due when the pass began (its site heartbeat did not cover it): the empty sync goes now.
        #expect(try planner.plan(channel: try Self.channel(a), heartbeatsAsOf: passStart + 1_000).sends.map(\.isHeartbeat) == [true])
    }

    @Test func queuedEntriesFallingDueDuringAPassAreSentAtOnce() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let passStart = a.clock.nowMilliseconds()
        a.clock.advance(by: 31_000)
        _ = try a.put("alice", "k", "{}")
        #expect(try planner.plan(channel: try Self.channel(a), heartbeatsAsOf: passStart).sends.map(\.packet.entryCount) == [1])
    }

    @Test func thePacketAfterOneInFlightCarriesTheEntriesQueuedAfterIt() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.site.append(nickname: "alice", (0..<1_200).map { Change(entity: "item", key: "k\($0)", op: .put, body: "{}") })
        let first = try #require(try planner.sends(channel: try Self.channel(a)).first)
        let second = try #require(try planner.send(after: first))
        let third = try #require(try planner.send(after: second))
        #expect([first, second, third].map(\.packet.entryCount) == [500, 500, 200])
        #expect(Set(first.packet.positions + second.packet.positions + third.packet.positions).count == 1_200)
        #expect(try planner.send(after: third) == nil)
    }

    @Test func anEntryAppendedAfterAPacketThatTookTheWholeQueueFollowsIt() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k1", "{}")
        let first = try #require(try planner.sends(channel: try Self.channel(a)).first)
        #expect(first.packet.entryCount == 1)
        #expect(try planner.send(after: first) == nil)  // the queue is empty and nothing was written
        _ = try a.put("alice", "k2", "{}")
        let second = try #require(try planner.send(after: first))
        #expect(second.packet.entryCount == 1)
        #expect(Set(first.packet.positions + second.packet.positions).count == 2)
    }

    @Test func nothingFollowsAHeartbeat() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let heartbeat = try planner.send(channel: try Self.channel(a), to: try #require(try a.site.liveLocations(of: try Self.channel(a)).first {
            $0.siteID != (try a.site.identity().siteID)
        }))
        #expect(heartbeat.isHeartbeat)
        _ = try a.put("alice", "k", "{}")
        #expect(try planner.send(after: heartbeat) == nil)
    }

    @Test func queuedEntriesAreDueAtOnceAndAnAckEmptiesTheQueue() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k", "{}")
        let sends = try planner.sends(channel: try Self.channel(a))
        #expect(sends.map(\.packet.entryCount) == [1])
        guard case .acked(1, false, false) = try planner.record(.answered(DeliveryAnswer(deliveryReport: [])), of: sends[0]) else {
            Issue.record("expected an ack of one entry with nothing left")
            return
        }
        #expect(try planner.sends(channel: try Self.channel(a)).isEmpty)
    }

    @Test func anAckBringsAnOfflineLocationBackAndKeepsItsReport() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k", "{}")
        let send = try #require(try planner.sends(channel: try Self.channel(a)).first)
        let row = try Self.channel(a).rowID, siteID = send.location.siteID
        var before = try #require(try a.site.store.read { try $0.peer(channel: row, siteID: siteID) })
        before.offline = true
        before.attempts = 4
        before.nextAttempt = 1
        before.lastError = "connection refused"
        try a.site.store.write { try $0.putPeer(channel: row, before) }
        a.clock.advance(by: 5)
        guard case .acked(1, false, true) = try planner.record(.answered(DeliveryAnswer(deliveryReport: [])), of: send) else {
            Issue.record("expected an ack of one entry, nothing left, the location back online")
            return
        }
        var expected = before
        expected.delivered(at: a.clock.nowMilliseconds())
        let after = try #require(try a.site.store.read { try $0.peer(channel: row, siteID: siteID) })
        #expect(after == expected)
        #expect(after.vector == before.vector && after.digest == before.digest && after.lastHeard == before.lastHeard)
    }

    @Test func heartbeatTimesSurviveARestart() throws {
        let (a, b, _) = try Self.pair(); defer { a.remove(); b.remove() }
        let reopened = try TestSite(restoring: a.directory, seed: 9, clock: a.clock)
        #expect(try DeliveryPlanner(site: reopened.site, policy: Self.policy).sends(channel: try Self.channel(reopened)).isEmpty)
    }

    @Test func noAnswerMakesTheLocationOfflineUntilItsBackoffEnds() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k", "{}")
        let send = try #require(try planner.sends(channel: try Self.channel(a)).first)
        guard case .failed(_, true, let retryAt, false) = try planner.record(.unreachable("connection refused"), of: send) else {
            Issue.record("expected an unreachable failure")
            return
        }
        #expect(retryAt > a.clock.nowMilliseconds())
        #expect(try planner.plan(channel: try Self.channel(a)).wakeAt == retryAt)
        #expect(try a.site.syncStatus(nickname: "alice").locations.first { !$0.isSelf }?.state == .offline)
        a.clock.set(retryAt)
        #expect(try planner.sends(channel: try Self.channel(a)).map(\.packet.entryCount) == [1])
    }

    @Test func aRefusalKeepsTheEntriesQueued() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        _ = try a.put("alice", "k", "{}")
        let send = try #require(try planner.sends(channel: try Self.channel(a)).first)
        guard case .failed(_, false, _, false) = try planner.record(Self.refusal(422), of: send) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(try a.site.syncStatus(nickname: "alice").outbox == 1)
    }

    @Test func anUnknownLocationAnswerQueuesOurLocationForThatClone() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let send = try planner.send(channel: try Self.channel(a), to: try b.location("alice"))
        guard case .failed(_, false, _, true) = try planner.record(Self.refusal(403, code: "unknown-location"), of: send) else {
            Issue.record("expected an introduction")
            return
        }
        let queued = try a.site.nextPacket(channel: "alice", to: try b.location("alice"))
        #expect(queued.entryCount == 1)
    }

    @Test func aForkAnswerNamingOurWriterTakesANewWriter() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let entry = try a.put("alice", "k", "{}")
        let send = try #require(try planner.sends(channel: try Self.channel(a)).first)
        let event = try planner.record(Self.refusal(409, code: "fork", origin: entry.origin.text, seq: entry.seq), of: send)
        guard case .healed(let report, _) = event else {
            Issue.record("expected a heal, got \(event)")
            return
        }
        #expect(report.oldWriter == entry.origin)
        #expect(try Self.channel(a).writer == report.newWriter)
    }

    @Test func aForkAnswerNamingAnotherWriterIsOnlyARefusal() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let send = try planner.send(channel: try Self.channel(a), to: try b.location("alice"))
        let other = try Self.channel(b).writer
        guard case .failed = try planner.record(Self.refusal(409, code: "fork", origin: other.text, seq: 1), of: send) else {
            Issue.record("expected a plain refusal")
            return
        }
        #expect(try Self.channel(a).writer != other)
    }

    // MARK: Pulls

    @Test func aPulledPageIsAppliedAndTheNextPageFollows() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        for i in 0..<3 { _ = try b.put("alice", "k\(i)", "{}") }
        let writer = try Self.channel(b).writer
        let after = try a.site.channelStatus(nickname: "alice").vector[writer]
        let pull = try planner.pull(channel: try Self.channel(a), from: try b.location("alice"), origin: writer, after: after, limit: 2)
        let page = try b.site.servePage(channel: try Self.channel(b), to: try a.location("alice"), origin: writer, after: after, limit: 2)
        let step = try planner.record(.answered(page), of: pull)
        guard case .applied(let report, 2) = step.event else {
            Issue.record("expected two entries applied, got \(step.event)")
            return
        }
        #expect(report.applied == 2)
        #expect(step.next?.after == after + 2)
    }

    @Test func aFailedPullMovesToTheNextClone() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let c = try TestSite(url: "https://c.example", seed: 3); defer { c.remove() }
        try a.clone("alice", to: c)
        _ = try a.site.replay(nickname: "alice", try c.site.log(nickname: "alice"))
        var pull = try planner.pull(channel: try Self.channel(a), from: try b.location("alice"), origin: try Self.channel(b).writer,
                                    after: 0, limit: 10)
        pull.fallbacks = [try c.location("alice")]
        let step = try planner.record(.unreachable("timeout"), of: pull)
        guard case .failed(let source, _, true, _) = step.event else {
            Issue.record("expected an unreachable source")
            return
        }
        #expect(source.siteID == (try b.location("alice")).siteID)
        #expect(step.next?.source.siteID == (try c.location("alice")).siteID)
        #expect(step.next?.fallbacks.isEmpty == true)
    }

    @Test func anEmptyPageWhereEntriesWereReportedIsAFailure() throws {
        let (a, b, planner) = try Self.pair(); defer { a.remove(); b.remove() }
        let writer = try Self.channel(b).writer
        let held = try b.site.channelStatus(nickname: "alice").vector[writer]
        let pull = try planner.pull(channel: try Self.channel(a), from: try b.location("alice"), origin: writer, after: held, limit: 10)
        let page = try b.site.servePage(channel: try Self.channel(b), to: try a.location("alice"), origin: writer, after: held, limit: 10)
        guard case .failed(_, let reason, false, _) = try planner.record(.answered(page), of: pull).event else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("no entries"))
    }
}

/// A site's fallback URLs reach the other clones in its signed `location`.
@Suite struct FallbackTests {
    @Test func fallbacksReplicateAndComeAfterTheMainURL() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        try b.site.setFallbacks(nickname: "alice", ["https://b2.example/"])
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let seen = try a.site.liveLocations(of: try a.site.channel(nickname: "alice")).first { $0.url == "https://b.example" }
        #expect(seen?.baseURLs == ["https://b.example", "https://b2.example"])
        #expect(try a.site.syncStatus(nickname: "alice").diverged == nil)
    }

    @Test func aBadFallbackIsRefusedAndNothingIsWritten() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let before = try b.site.channelStatus(nickname: "alice")
        #expect(throws: (any Error).self) { try b.site.setFallbacks(nickname: "alice", ["not a url"]) }
        #expect(try b.site.channelStatus(nickname: "alice") == before)
    }
}

/// Entities nomadsync writes itself cannot be written as local changes.
@Suite struct ServiceEntityTests {
    @Test(arguments: ["location", "key", "link", "inbound"])
    func aLocalChangeToAServiceEntityIsRefusedAndNothingIsWritten(entity: String) throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let before = try a.site.channelStatus(nickname: "alice")
        #expect {
            try a.site.append(nickname: "alice", [Change(entity: "item", key: "ok", op: .put, body: "{}"),
                                                  Change(entity: entity, key: "x", op: .put, body: "{}")])
        } throws: { error in
            guard case EngineError.invalidChange(1, let reason) = error else { return false }
            return reason.contains("written by nomadsync itself")
        }
        #expect(try a.site.channelStatus(nickname: "alice") == before)
    }
}

/// The ActivityPub actor data every clone serves.
@Suite struct ActorDocumentTests {
    @Test func eachCloneNamesTheOtherInCopiedToAndAlsoKnownAs() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let actorA = try a.site.actor(nickname: "alice")
        let actorB = try b.site.actor(nickname: "alice")
        #expect(actorA.id == "https://a.example/channel/alice")
        #expect(actorA.copiedTo == [actorB.id] && actorB.copiedTo == [actorA.id])
        #expect(actorA.alsoKnownAs == [actorB.id])
        #expect(Set([actorA.id] + actorA.copiedTo) == Set([actorB.id] + actorB.copiedTo))
    }

    @Test func theKeyIsAnEd25519MultikeyOfTheChannelKey() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        let channel = try a.site.channel(nickname: "alice")
        let method = try #require(try a.site.actor(nickname: "alice").assertionMethod.first)
        #expect(method.publicKeyMultibase == "z" + Base58.encode([0xED, 0x01] + channel.publicKey))
        #expect(method.publicKeyMultibase.hasPrefix("z6Mk") && method.publicKeyMultibase.count == 48)
        #expect(method.controller == "https://a.example/channel/alice" && method.type == "Multikey")
    }

    @Test func aCloneNotYetAnnouncedIsNotListed() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        // b never announced itself to a: a lists nobody else.
        #expect(try a.site.actor(nickname: "alice").copiedTo.isEmpty)
    }
}

/// A site can retire its location; the others carry the channel on without it.
@Suite struct RetireTests {
    @Test func theOthersDropARetiredLocationAndItsQueue() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        _ = try a.put("alice", "k", "{}")  // queued for b
        try b.site.retire(nickname: "alice")
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let channel = try a.site.channel(nickname: "alice")
        #expect(try a.site.liveLocations(of: channel).map(\.url) == ["https://a.example"])
        #expect(try a.site.syncStatus(nickname: "alice").outbox == 0)
        #expect(try a.site.actor(nickname: "alice").copiedTo.isEmpty)
        #expect(try DeliveryPlanner(site: a.site).sends(channel: channel).isEmpty)
    }

    @Test func aRetiredSiteSendsWhatIsQueuedThenNothingAndServesNothing() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try b.site.replay(nickname: "alice", try a.site.log(nickname: "alice"))
        #expect(try b.site.syncStatus(nickname: "alice").retired == false)
        try b.site.retire(nickname: "alice")
        #expect(try b.site.syncStatus(nickname: "alice").retired)
        let planner = DeliveryPlanner(site: b.site)
        let channel = try b.site.channel(nickname: "alice")
        let sends = try planner.sends(channel: channel)
        #expect(sends.count == 1 && sends.first?.isHeartbeat == false)
        _ = try planner.record(.answered(DeliveryAnswer(deliveryReport: [])), of: try #require(sends.first))
        b.clock.advance(by: 3_600_000)
        #expect(try planner.plan(channel: channel).sends.isEmpty)  // no heartbeat from a retired location
        #expect(try planner.plan(channel: channel).pulls.isEmpty)
        #expect(throws: EngineError.retired("alice")) { try b.site.append(nickname: "alice", [Change(entity: "item", key: "k", op: .put, body: "{}")]) }
        #expect(throws: EngineError.retired("alice")) { try b.site.discovery(nickname: "alice") }
        #expect(EngineError.retired("alice").refusal.status == 410)
    }

    @Test func thePrimaryCannotRetire() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        let before = try a.site.channelStatus(nickname: "alice")
        #expect(throws: EngineError.self) { try a.site.retire(nickname: "alice") }
        #expect(try a.site.channelStatus(nickname: "alice") == before)
    }
}
