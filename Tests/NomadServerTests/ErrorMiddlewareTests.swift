import Foundation
import NomadModel
import NomadTransport
import Testing

/// Every error a route throws becomes one JSON answer, in one middleware.
@Suite struct ErrorMiddlewareTests {
    @Test func anUnknownRouteIsAJSON404OnBothListeners() async throws {
        let pair = try await ServedPair.start()
        for port in [pair.port, pair.adminPort] {
            let (code, body) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(port)/nowhere"))
            #expect(code == 404)
            let error = try WireJSON.decode(ErrorBody.self, from: Data(body.utf8), what: "error")
            #expect(error.message == "no such route: GET /nowhere")
        }
        await pair.stop()
    }

    @Test func refusedAndAcceptedPacketsAreCountedByStatus() async throws {
        let pair = try await ServedPair.start()
        let good = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        #expect(try await pair.send(good).0 == 200)
        var forged = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        forged.body[forged.body.count / 2] ^= 1
        #expect(try await pair.send(forged).0 == 401)
        let (_, metrics) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/metrics"))
        #expect(metrics.contains(#"nomadsync_packets_in_total{status="200"} 1"#))
        #expect(metrics.contains(#"nomadsync_packets_in_total{status="401"} 1"#))
        await pair.stop()
    }
}
