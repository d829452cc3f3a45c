import Foundation
import NomadEngine
@testable import NomadServer
import NomadTransport
import Synchronization
import Testing

/// An idle site plans each channel once per heartbeat round: recording the round's answers
/// changes nothing the next plan reads, and the next round falls due when the worker wakes for it.
@Suite(.serialized) struct IdleRoundTests {
    @Test func recordingAnIdleRoundsAnswersLeavesTheDeliveryMarker() async throws {
        try await HeartbeatTrio.with(channels: 3) { trio in
            try await trio.drain()
            _ = await trio.idlePass()
            let before = try trio.a.site.deliveryMarker()
            let sent = await trio.idlePass()
            #expect(sent.count("POST /heartbeat") == 2)
            #expect(try trio.a.site.deliveryMarker() == before, "no pass plans every channel again for the answers")
        }
    }

    @Test func theNextRoundFallsDueOneIntervalAfterTheLastWasPlanned() async throws {
        let slow = SlowHeartbeatAnswers(URLSessionTransport(timeout: 5))
        try await HeartbeatTrio.with(channels: 2, transport: slow) { trio in
            try await trio.drain()
            slow.clock.withLock { $0 = trio.a.clock }
            trio.a.clock.advance(by: HeartbeatTrio.heartbeat + 1)
            let plannedAt = trio.a.clock.nowMilliseconds()
            trio.transport.reset()
            await trio.worker.runOnce()
            #expect(trio.transport.count("POST /heartbeat") == 2)
            // The two answers took a second of A's clock; the next round is due one interval
            // after this one was planned, not after its answers.
            let now = trio.a.clock.nowMilliseconds()
            #expect(now == plannedAt + 1_000)
            trio.a.clock.advance(by: plannedAt + HeartbeatTrio.heartbeat - now)
            trio.transport.reset()
            await trio.worker.runOnce()
            #expect(trio.transport.count("POST /heartbeat") == 2)
        }
    }
}

/// Moves a test clock half a second forward with each answer to a site heartbeat: a slow round.
final class SlowHeartbeatAnswers: HTTPTransport {
    let inner: any HTTPTransport
    let clock = Mutex<ManualClock?>(nil)

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        let answer = try await inner.send(request)
        if request.url.hasSuffix("/heartbeat") { clock.withLock { $0?.advance(by: 500) } }
        return answer
    }
}
