import Foundation
import Logging
import NomadCrypto
import NomadModel
@testable import NomadServer
import NomadTransport
import Synchronization
import Testing
@testable import NomadEngine

/// A transport that answers from a script and records what it was asked.
final class ScriptedTransport: HTTPTransport {
    enum Answer { case status(Int, String), unreachable }
    private let state = Mutex<(answer: Answer, requests: [OutboundRequest])>((.unreachable, []))

    func answer(_ a: Answer) { state.withLock { $0.answer = a } }
    var requests: [OutboundRequest] { state.withLock { $0.requests } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        let answer = state.withLock { s -> Answer in
            s.requests.append(request)
            return s.answer
        }
        switch answer {
        case .status(let code, let body): return InboundResponse(status: code, body: Data(body.utf8))
        case .unreachable: throw TransportError(url: request.url, reason: "connection refused")
        }
    }
}

/// A transport that answers every request after `delay` (an acknowledgement, or no answer at
/// all), counting requests and the most it had in hand at once.
final class PacedTransport: HTTPTransport {
    let delay: Duration
    let unreachable: Bool
    private let state = Mutex<(requests: Int, now: Int, most: Int)>((0, 0, 0))

    init(delay: Duration, unreachable: Bool = false) {
        self.delay = delay
        self.unreachable = unreachable
    }

    var requests: Int { state.withLock { $0.requests } }
    var mostAtOnce: Int { state.withLock { $0.most } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        state.withLock {
            $0.requests += 1
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
        defer { state.withLock { $0.now -= 1 } }
        try await Task.sleep(for: delay)
        if unreachable { throw TransportError(url: request.url, reason: "connection refused") }
        return InboundResponse(status: 200, body: Data(DeliveryWorkerTests.ack.utf8))
    }
}

/// The outbox of site A (alice cloned to B), drained by A's delivery worker over a scripted transport.
struct DeliveryFixture {
    let a: LocalSite
    let b: LocalSite
    let transport: any HTTPTransport
    let worker: DeliveryWorker

    /// The scripted transport (the fixture's default).
    var scripted: ScriptedTransport { transport as! ScriptedTransport }

    init(transport: any HTTPTransport = ScriptedTransport()) throws {
        self.transport = transport
        let clock = ManualClock(milliseconds: 1_763_700_000_000)
        a = try LocalSite(url: "http://127.0.0.1:1", seed: 21, clock: clock)
        b = try LocalSite(url: "http://127.0.0.1:2", seed: 22, clock: clock)
        _ = try a.site.createChannel(nickname: "alice")
        let file = try a.site.exportChannel(nickname: "alice", passphrase: ServedPair.passphrase, strength: .interactive)
        _ = try b.site.importChannel(file, passphrase: ServedPair.passphrase)
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))
        var configuration = NodeConfiguration()
        configuration.heartbeatMilliseconds = 3_600_000
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        worker = DeliveryWorker(site: a.site, transport: transport, configuration: configuration, metrics: NodeMetrics(), logger: logger)
    }

    func change(_ n: Int) throws {
        for i in 0..<n {
            a.clock.advance(by: 1)
            try a.site.append(nickname: "alice", [Change(entity: "item", key: "k\(i)", op: .put, body: "{}")])
        }
    }

    /// The location of B as A sees it.
    var bStatus: LocationStatus { get throws { try a.site.syncStatus(nickname: "alice").locations.first { !$0.isSelf }! } }

    /// Runs one pass after the backoff of the last failure has passed.
    func passLater() async {
        a.clock.advance(by: 2 * 3_600_000)
        await worker.runOnce()
    }

    func remove() {
        a.remove()
        b.remove()
    }
}

@Suite struct DeliveryWorkerTests {
    static let ack = #"{"success":true,"delivery_report":[]}"#

    @Test func aLocalChangeIsQueuedForEveryOtherLocation() throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(3)
        #expect(try f.bStatus.outbox == 3)
    }

    @Test func anAcknowledgedPacketLeavesTheOutbox() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(3)
        f.scripted.answer(.status(200, Self.ack))
        await f.worker.runOnce()
        #expect(try f.bStatus.outbox == 0)
        #expect(f.scripted.requests.first?.url == "http://127.0.0.1:2/zot")
        #expect(f.scripted.requests.first?.header("Signature")?.contains("keyId=\"http://127.0.0.1:1/channel/alice#ed25519\"") == true)
    }

    @Test func a5xxAnswerKeepsTheOutboxAndBacksOff() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(3)
        f.scripted.answer(.status(503, #"{"success":false,"message":"busy"}"#))
        await f.worker.runOnce()
        #expect(try f.bStatus.outbox == 3)
        // It answered, so it is not offline: status says it refuses, and why.
        #expect(try f.bStatus.state == .refusing)
        #expect(try f.bStatus.lastError?.contains("busy") == true)
        let plan = try f.worker.planner.plan(channel: try f.a.site.channel(nickname: "alice"))
        #expect(plan.sends.isEmpty)
        #expect((plan.wakeAt ?? 0) > f.a.clock.nowMilliseconds())
        // Nothing is sent again before the backoff has passed.
        let sent = f.scripted.requests.count
        await f.worker.runOnce()
        #expect(f.scripted.requests.count == sent)
    }

    @Test func a200WithSuccessFalseIsNotAnAcknowledgement() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(2)
        f.scripted.answer(.status(200, #"{"success":false,"message":"not today"}"#))
        await f.worker.runOnce()
        #expect(try f.bStatus.outbox == 2)
        #expect(try f.bStatus.lastError?.contains("not today") == true)
    }

    @Test func aLocationWhoseEveryURLFailsIsOfflineUntilItAcknowledges() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(2)
        f.scripted.answer(.unreachable)
        await f.worker.runOnce()
        #expect(try f.bStatus.state == .offline)
        #expect(try f.bStatus.outbox == 2)
        f.scripted.answer(.status(200, Self.ack))
        await f.passLater()
        #expect(try f.bStatus.outbox == 0)
        #expect(try f.bStatus.state != .offline)
    }

    @Test func hearingFromAnOfflineLocationMakesItsQueueDueAtOnce() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        try f.change(1)
        f.scripted.answer(.unreachable)
        await f.worker.runOnce()
        #expect(try f.bStatus.state == .offline)
        try f.a.site.heard(channel: try f.a.site.channel(nickname: "alice"), from: try f.b.site.identity().siteID, vector: nil, digest: nil)
        f.scripted.answer(.status(200, Self.ack))
        await f.worker.runOnce()  // no clock advance: the backoff was cleared
        #expect(try f.bStatus.outbox == 0)
    }

    @Test func fallbacksAreTriedInOrderAfterTheMainURL() async throws {
        let f = try DeliveryFixture()
        defer { f.remove() }
        let channel = try f.a.site.channel(nickname: "alice")
        var location = try f.a.site.liveLocations(of: channel).first { $0.url == f.b.url }!
        location.fallbacks = ["http://127.0.0.1:3", "http://127.0.0.1:4"]
        let action = try f.worker.planner.send(channel: channel, to: location)
        #expect(action.urls == ["http://127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:4"])
        f.scripted.answer(.unreachable)
        let answer = await f.worker.client.post(action.body, to: action.urls, keys: try f.a.site.channelKeys(channel),
                                                keyURL: action.keyURL, now: { 0 })
        guard case .unreachable = answer else { Issue.record("expected no answer, got \(answer)"); return }
        #expect(f.scripted.requests.map(\.url) == ["http://127.0.0.1:2/zot", "http://127.0.0.1:3/zot", "http://127.0.0.1:4/zot"])
    }

    @Test func packetsToOneLocationGoThreeAtATimeAndEachEntryOnce() async throws {
        let f = try DeliveryFixture(transport: PacedTransport(delay: .milliseconds(50)))
        defer { f.remove() }
        try f.a.site.append(nickname: "alice", (0..<2_200).map { Change(entity: "item", key: "k\($0)", op: .put, body: "{}") })
        await f.worker.runOnce()
        let paced = try #require(f.transport as? PacedTransport)
        #expect(try f.bStatus.outbox == 0)
        #expect(paced.requests == 5)  // 4 × 500 + 200: no packet carried what another did
        #expect(paced.mostAtOnce == DeliveryWorker.packetsInFlight)
        #expect(DeliveryWorker.packetsInFlight == 3)
    }

    @Test func afterAFailureNothingMoreGoesAndTheBackoffCountsOnce() async throws {
        let f = try DeliveryFixture(transport: PacedTransport(delay: .milliseconds(50), unreachable: true))
        defer { f.remove() }
        try f.a.site.append(nickname: "alice", (0..<2_200).map { Change(entity: "item", key: "k\($0)", op: .put, body: "{}") })
        await f.worker.runOnce()
        let paced = try #require(f.transport as? PacedTransport)
        #expect(paced.requests == DeliveryWorker.packetsInFlight)  // those already in flight; nothing after the failure
        #expect(try f.bStatus.outbox == 2_200)
        let plan = try f.worker.planner.plan(channel: try f.a.site.channel(nickname: "alice"))
        // One failure: a retry within the first step of the backoff (1 s), not the second.
        #expect(try #require(plan.wakeAt) <= f.a.clock.nowMilliseconds() + 1_000)
    }

    @Test func backoffGrowsExponentiallyWithJitterUpToTheCap() {
        let backoff = Backoff()
        let random = SeededRandom(seed: 5)
        for attempts in 1...20 {
            let full = min(3_600_000, UInt64(1_000) << UInt64(attempts - 1))
            let d = backoff.delay(afterAttempts: attempts, random: random)
            #expect(d >= full / 2 && d <= full)
        }
    }
}
