import Foundation
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// A site whose URL has a path (`http://host:port/nomad`), so it can share a domain with a hub:
/// requests reach it with the path, or without it behind a proxy that strips it, and the
/// signatures (always over the full path) verify either way.
@Suite(.serialized)
struct PathPrefixTests {
    @Test func aPacketToThePrefixedPathIsApplied() async throws {
        let pair = try await ServedPair.start(pathPrefix: "/nomad")
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        #expect(request.url.hasSuffix("/nomad/zot"))
        let (code, body) = try await pair.send(request)
        #expect(code == 200, "\(body)")
        await pair.stop()
    }

    @Test func aPacketWhosePathAProxyStrippedIsApplied() async throws {
        let pair = try await ServedPair.start(pathPrefix: "/nomad")
        // Signed for /nomad/zot, as the sender sees the site; the proxy forwards it to /zot.
        var request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        request.url = "http://127.0.0.1:\(pair.port)/zot"
        let (code, body) = try await pair.send(request)
        #expect(code == 200, "\(body)")
        await pair.stop()
    }

    @Test func healthAnswersWithAndWithoutThePrefix() async throws {
        let pair = try await ServedPair.start(pathPrefix: "/nomad")
        for path in ["/nomad/health", "/health"] {
            #expect(try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)\(path)")).0 == 200, "\(path)")
        }
        await pair.stop()
    }

    @Test func aSignatureOverAnotherPathStillFails() async throws {
        let pair = try await ServedPair.start(pathPrefix: "/nomad")
        // Signed for /zot (not the site's path): the prefix is added back, and it no longer matches.
        var request = try pair.signer().post(url: "http://127.0.0.1:\(pair.port)/zot", body: try pair.body(try pair.packet()),
                                             now: pair.a.clock.nowMilliseconds())
        request.url = "http://127.0.0.1:\(pair.port)/zot"
        let (code, _) = try await pair.send(request)
        #expect(code == 401)
        await pair.stop()
    }

    @Test func discoveryAnswersUnderThePrefixAndNamesIt() async throws {
        let pair = try await ServedPair.start(pathPrefix: "/nomad")
        let response = try await URLSessionTransport(timeout: 10).send(OutboundRequest(
            method: "GET", url: "http://127.0.0.1:\(pair.port)/nomad/channel/alice", headers: [("Accept", "application/x-zot+json")]))
        #expect(response.status == 200)
        let document = try WireJSON.decode(DiscoveryDocument.self, from: response.body, what: "discovery")
        #expect(document.locations.contains { $0.idURL == "http://127.0.0.1:\(pair.port)/nomad/channel/alice" })
        await pair.stop()
    }
}
