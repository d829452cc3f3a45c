import Foundation
import Logging
import NomadCrypto
import NomadModel
@testable import NomadServer
import NomadTransport
import ServiceLifecycle
import Synchronization
import Testing
@testable import NomadEngine

/// Counts the requests a real transport carries, by the last path segment.
final class CountingTransport: HTTPTransport {
    let inner: any HTTPTransport
    private let counts = Mutex<[String: Int]>([:])

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        let path = URLComponents(string: request.url)?.path ?? request.url
        counts.withLock { $0["\(request.method) /\(path.split(separator: "/").last ?? "")", default: 0] += 1 }
        return try await inner.send(request)
    }

    func count(_ key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
    func reset() { counts.withLock { $0 = [:] } }
}

/// Runs blocking work on a thread of its own and waits for it without holding a cooperative thread.
enum OwnThread {
    static func run(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }
}

/// A site served by a real node on a loopback port, on the test's clock.
struct ServedSite {
    let local: LocalSite
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(seed: UInt64, clock: ManualClock) async throws -> ServedSite {
        let port = try freePort()
        let local = try LocalSite(url: "http://127.0.0.1:\(port)", seed: seed, clock: clock)
        var configuration = NodeConfiguration()
        configuration.port = port
        configuration.heartbeatMilliseconds = 3_600_000
        // Quiet: these nodes only answer A; their own attempts at A (never served) wait an hour.
        configuration.backoffBaseMilliseconds = 3_600_000
        configuration.admin = .tcp(host: "127.0.0.1", port: try freePort())
        var logger = Logger(label: "test-node")
        logger.logLevel = .critical
        let running = Mutex(false)
        let services = NomadNode.services(site: local.site, configuration: configuration, transport: URLSessionTransport(timeout: 2),
                                          adminToken: try AdminToken.loadOrCreate(directory: local.directory, random: SystemRandom()),
                                          logger: logger, onServerRunning: { _ in running.withLock { $0 = true } })
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let task = Task { try await group.run() }
        for _ in 0..<200 where !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(25)) }
        return ServedSite(local: local, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        local.remove()
    }
}

/// Site A (driven pass by pass) shares `count` channels with B and C, two real nodes.
struct HeartbeatTrio {
    let a: LocalSite
    let b: ServedSite
    let c: ServedSite
    let transport: CountingTransport
    let worker: DeliveryWorker
    let nicknames: [String]
    static let heartbeat: UInt64 = 30_000

    static func start(channels count: Int, transport inner: (any HTTPTransport)? = nil) async throws -> HeartbeatTrio {
        let clock = ManualClock(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000))
        let b = try await ServedSite.start(seed: 32, clock: clock)
        let c = try await ServedSite.start(seed: 33, clock: clock)
        let a = try LocalSite(url: "http://127.0.0.1:\(try freePort())", seed: 31, clock: clock)
        let nicknames = (0..<count).map { "ch\($0)" }
        // Seconds of SQLite work: on a thread of its own, not one of the few cooperative threads
        // the other suites' in-process nodes run on.
        try await OwnThread.run {
            for nick in nicknames {
                _ = try a.site.createChannel(nickname: nick)
                let document = try a.site.exportDocument(nickname: nick)
                for other in [b, c] { _ = try other.local.site.importDocument(document) }
                for other in [b, c] { _ = try a.site.replay(nickname: nick, try other.local.site.log(nickname: nick)) }
            }
        }
        let transport = CountingTransport(inner ?? URLSessionTransport(timeout: 5))
        var configuration = NodeConfiguration()
        configuration.heartbeatMilliseconds = heartbeat
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        let worker = DeliveryWorker(site: a.site, transport: transport, configuration: configuration, metrics: NodeMetrics(), logger: logger)
        return HeartbeatTrio(a: a, b: b, c: c, transport: transport, worker: worker, nicknames: nicknames)
    }

    /// Passes until A has nothing queued (its entries reached B and C), at most ten.
    func drain() async throws {
        for _ in 0..<10 {
            await worker.runOnce()
            let queued = try nicknames.map { try a.site.syncStatus(nickname: $0).locations.map(\.outbox).reduce(0, +) }.reduce(0, +)
            if queued == 0 { return }
        }
        Issue.record("A's outbox did not drain in ten passes")
    }

    /// The requests of one pass a heartbeat interval after the last.
    func idlePass() async -> CountingTransport {
        transport.reset()
        a.clock.advance(by: Self.heartbeat + 1)
        await worker.runOnce()
        return transport
    }

    /// When B last heard from A about `nick`, per B's store.
    func lastHeard(by served: ServedSite, _ nick: String) throws -> UInt64? {
        let aID = try a.site.identity().siteID
        let channel = try served.local.site.channel(nickname: nick)
        return try served.local.site.store.read { try $0.peer(channel: channel.rowID, siteID: aID) }?.lastHeard
    }

    func stop() async {
        await b.stop()
        await c.stop()
        a.remove()
    }

    /// Runs `body` on a fresh trio and stops it afterwards, whether `body` threw or not.
    static func with(channels count: Int, transport: (any HTTPTransport)? = nil,
                     _ body: (HeartbeatTrio) async throws -> Void) async throws {
        let trio = try await start(channels: count, transport: transport)
        do { try await body(trio) } catch {
            await trio.stop()
            throw error
        }
        await trio.stop()
    }
}

@Suite(.serialized) struct SiteHeartbeatTests {
    @Test func idleSitesExchangeAsManyHeartbeatRequestsForAHundredChannelsAsForOne() async throws {
        var perPass: [Int: (heartbeats: Int, total: Int)] = [:]
        for count in [1, 100] {
            try await HeartbeatTrio.with(channels: count) { trio in
                try await trio.drain()
                for _ in 0..<2 {
                    let sent = await trio.idlePass()
                    perPass[count] = (sent.count("POST /heartbeat"), sent.total)
                    #expect(sent.count("POST /zot") == 0, "no channel fell back to an empty sync")
                }
            }
        }
        #expect(perPass[1]?.heartbeats == 2, "one request to each of the two other sites")
        #expect(perPass[100]?.heartbeats == perPass[1]?.heartbeats)
        #expect(perPass[100]?.total == perPass[1]?.total)
    }

    @Test func oneHeartbeatRecordsEveryChannelsReportAtTheOtherSite() async throws {
        try await HeartbeatTrio.with(channels: 20) { trio in
            try await trio.drain()
            let sent = await trio.idlePass()
            #expect(sent.count("POST /heartbeat") == 2)
            let now = trio.a.clock.nowMilliseconds()
            for nick in trio.nicknames {
                #expect(try trio.lastHeard(by: trio.b, nick) == now, "B recorded A's report of \(nick)")
                #expect(try trio.lastHeard(by: trio.c, nick) == now, "C recorded A's report of \(nick)")
            }
            // And A counts every channel as delivered: nothing more is due until the next interval.
            trio.transport.reset()
            await trio.worker.runOnce()
            #expect(trio.transport.total == 0)
        }
    }

    @Test func aChangeGoesOutWhileTheSiteHeartbeatsAreUnanswered() async throws {
        let gate = HeartbeatGate(URLSessionTransport(timeout: 5))
        try await HeartbeatTrio.with(channels: 2, transport: gate) { trio in
            try await trio.drain()
            gate.hold()
            trio.a.clock.advance(by: HeartbeatTrio.heartbeat + 1)  // both channels' heartbeats are due
            _ = try trio.a.site.append(nickname: "ch0", [Change(entity: "item", key: "urgent", op: .put, body: "{}")])
            let pass = Task { await trio.worker.runOnce() }
            func arrived(_ key: String) async throws -> Bool {
                func has(_ served: ServedSite) throws -> Bool { try served.local.site.log(nickname: "ch0").contains { $0.key == key } }
                for _ in 0..<400 where !(try has(trio.b) && has(trio.c)) { try await Task.sleep(for: .milliseconds(25)) }
                return try has(trio.b) && has(trio.c)
            }
            #expect(try await arrived("urgent"), "the change reached B and C while A's site heartbeats were held")
            // One appended while the pass waits for the heartbeats' answers goes at once too.
            _ = try trio.a.site.append(nickname: "ch0", [Change(entity: "item", key: "later", op: .put, body: "{}")])
            trio.worker.wake.signal()
            #expect(try await arrived("later"), "a change appended during the wait reached B and C")
            #expect(gate.held == 2, "both site heartbeats were still unanswered")
            gate.release()
            _ = await pass.value
            #expect(gate.paths.filter { $0.hasSuffix("/zot") }.count == 4, "ch0's packets only: the site heartbeats covered ch1")
        }
    }

    @Test func aSiteWithoutTheHeartbeatRouteGetsAnEmptySyncPerChannel() async throws {
        let scripted = ScriptedTransport()
        try await HeartbeatTrio.with(channels: 3, transport: scripted) { trio in
            scripted.answer(.status(200, DeliveryWorkerTests.ack))
            try await trio.drain()
            // An older site: /heartbeat is an unknown route; /zot acknowledges.
            let old = OldSiteTransport()
            let worker = DeliveryWorker(site: trio.a.site, transport: old, configuration: trio.worker.configuration, metrics: NodeMetrics(),
                                        logger: trio.worker.logger)
            trio.a.clock.advance(by: HeartbeatTrio.heartbeat + 1)
            await worker.runOnce()
            #expect(old.paths.filter { $0.hasSuffix("/heartbeat") }.count == 2)
            #expect(old.paths.filter { $0.hasSuffix("/zot") }.count == 6, "three channels × two sites, as empty syncs")
        }
    }

    @Test func anUnreachableSiteBacksOffEveryChannelUntilTheSameTime() async throws {
        let scripted = ScriptedTransport()
        try await HeartbeatTrio.with(channels: 5, transport: scripted) { trio in
            scripted.answer(.status(200, DeliveryWorkerTests.ack))
            try await trio.drain()
            scripted.answer(.unreachable)
            let sent = await trio.idlePass()
            #expect(sent.count("POST /heartbeat") == 2)
            #expect(sent.count("POST /zot") == 0, "the channels back off instead of trying one by one")
            var latest: UInt64 = 0
            for served in [trio.b, trio.c] {
                let siteID = try served.local.site.identity().siteID
                let retries = try Set(trio.nicknames.map { nick -> UInt64 in
                    let channel = try trio.a.site.channel(nickname: nick)
                    return try trio.a.site.store.read { try $0.peer(channel: channel.rowID, siteID: siteID) }?.nextAttempt ?? 0
                })
                let retryAt = try #require(retries.count == 1 ? retries.first : nil, "every channel retries at the same time")
                #expect(retryAt > trio.a.clock.nowMilliseconds())
                latest = max(latest, retryAt)
            }
            // When the backoff ends, the five channels go together again: one request per site.
            trio.transport.reset()
            trio.a.clock.set(latest + 1)
            await trio.worker.runOnce()
            #expect(trio.transport.count("POST /heartbeat") == 2)
            #expect(trio.transport.count("POST /zot") == 0)
        }
    }
}

/// A site of an earlier version: 404 on `/heartbeat`, acknowledges every packet on `/zot`.
final class OldSiteTransport: HTTPTransport {
    private let seen = Mutex<[String]>([])
    var paths: [String] { seen.withLock { $0 } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        seen.withLock { $0.append(request.url) }
        if request.url.hasSuffix("/heartbeat") {
            return InboundResponse(status: 404, body: Data(#"{"success":false,"message":"no such route"}"#.utf8))
        }
        return InboundResponse(status: 200, body: Data(DeliveryWorkerTests.ack.utf8))
    }
}

/// Holds every `/heartbeat` request from `hold()` until `release()`; everything else goes
/// through at once. Records the other URLs sent since `hold()`.
final class HeartbeatGate: HTTPTransport {
    let inner: any HTTPTransport
    private let state = Mutex<(holding: Bool, recording: Bool, waiting: [CheckedContinuation<Void, Never>], paths: [String])>(
        (false, false, [], []))

    init(_ inner: any HTTPTransport) { self.inner = inner }

    var held: Int { state.withLock { $0.waiting.count } }
    var paths: [String] { state.withLock { $0.paths } }

    func hold() { state.withLock { $0.holding = true; $0.recording = true; $0.paths = [] } }

    func release() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.holding = false
            defer { s.waiting = [] }
            return s.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        if request.url.hasSuffix("/heartbeat") {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let go = state.withLock { s -> Bool in
                    guard s.holding else { return true }
                    s.waiting.append(continuation)
                    return false
                }
                if go { continuation.resume() }
            }
        } else {
            state.withLock { if $0.recording { $0.paths.append(request.url) } }
        }
        return try await inner.send(request)
    }
}
