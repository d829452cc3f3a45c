import Foundation
import NomadModel
import NomadTransport
import Testing

/// `GET /channel/{nick}` answers by `Accept`: the Zot discovery document or the actor data.
@Suite struct ActorRouteTests {
    static func get(_ pair: ServedPair, accept: String) async throws -> (Int, String) {
        try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)/channel/alice", headers: [("Accept", accept)]))
    }

    @Test func activityJSONGetsTheActor() async throws {
        let pair = try await ServedPair.start()
        for accept in ["application/activity+json", #"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#] {
            let (code, body) = try await Self.get(pair, accept: accept)
            #expect(code == 200)
            let actor = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(actor["id"] as? String == "\(pair.b.url)/channel/alice")
            #expect(actor["copiedTo"] as? [String] == ["\(pair.a.url)/channel/alice"])
        }
        await pair.stop()
    }

    @Test func zotJSONStillGetsTheDiscoveryDocumentAndHTMLIsNotAcceptable() async throws {
        let pair = try await ServedPair.start()
        let (code, body) = try await Self.get(pair, accept: "application/x-zot+json")
        #expect(code == 200 && body.contains("\"portable_id\""))
        #expect(try await Self.get(pair, accept: "text/html").0 == 406)
        await pair.stop()
    }

    @Test func webFingerLinksTheActor() async throws {
        let pair = try await ServedPair.start()
        let host = "127.0.0.1:\(pair.port)"
        let (code, body) = try await pair.send(OutboundRequest(method: "GET", url: "http://\(host)/.well-known/webfinger?resource=acct:alice@\(host)"))
        #expect(code == 200)
        let document = try WireJSON.decode(WebFingerDocument.self, from: Data(body.utf8), what: "webfinger")
        #expect(document.links.contains { $0.rel == "self" && $0.type == "application/activity+json" && $0.href == "\(pair.b.url)/channel/alice" })
        await pair.stop()
    }
}
