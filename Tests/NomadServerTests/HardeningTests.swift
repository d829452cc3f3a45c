import Foundation
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// A hostile peer against a real node on loopback: nothing it sends crashes the node, and what
/// a real Zot6 hub sends is answered as the spec demands.
@Suite(.serialized)
struct HardeningTests {
    /// The node still answers: it did not trap.
    func expectAlive(_ pair: ServedPair, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (code, _) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)/health"))
        #expect(code == 200, "the node no longer answers", sourceLocation: sourceLocation)
    }

    @Test func aDateWithAHugeYearIsRefusedAndTheNodeLives() async throws {
        let pair = try await ServedPair.start()
        let channel = try pair.a.site.channel(nickname: "alice")
        for (method, path) in [("GET", "/sync/\(channel.portableID.text)/entries?origin=x"), ("POST", "/zot")] {
            let request = OutboundRequest(method: method, url: "http://127.0.0.1:\(pair.port)\(path)", headers: [
                ("Signature", #"keyId="k",headers="date",signature="AAAA""#), ("Date", "Thu, 01 Jan 999999999999 00:00:00 GMT"),
                ("Content-Type", "application/x-zot+json"), ("Digest", HTTPSignature.digest(of: Array("{}".utf8))),
            ], body: method == "POST" ? Array("{}".utf8) : [])
            let (code, _) = try await pair.send(request)
            #expect(code == 400 || code == 401, "\(method) \(path): \(code)")
        }
        try await expectAlive(pair)
        await pair.stop()
    }

    @Test func aSignedPullAfterTheLargestSeqIs400AndTheNodeLives() async throws {
        let pair = try await ServedPair.start()
        let channel = try pair.a.site.channel(nickname: "alice")
        let url = "http://127.0.0.1:\(pair.port)/sync/\(channel.portableID.text)/entries?origin=\(channel.writer.text)&after=9223372036854775808"
        let (code, body) = try await pair.send(try pair.signer().get(url: url, now: pair.a.clock.nowMilliseconds()))
        #expect(code == 400, "\(body)")
        let largest = url.replacingOccurrences(of: "9223372036854775808", with: "9223372036854775807")
        #expect(try await pair.send(try pair.signer().get(url: largest, now: pair.a.clock.nowMilliseconds())).0 == 200)
        try await expectAlive(pair)
        await pair.stop()
    }

    /// The exact request bytes Hubzilla 8.8.7 sent (RSA signature, encoding `hz`).
    static func hubzillaRequest(_ name: String) throws -> (headers: [(String, String)], body: [UInt8]) {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/zot6-hubzilla-8.8.7/\(name)").path
        let raw = try #require(FileManager.default.contents(atPath: path))
        let bytes = Array(raw)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        let split = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == separator })
        let head = String(decoding: bytes[..<split], as: UTF8.self).components(separatedBy: "\r\n").dropFirst()
        let headers = head.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon])
            guard !["host", "content-length", "accept-encoding"].contains(name.lowercased()) else { return nil }
            return (name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (headers, Array(bytes[(split + 4)...]))
    }

    @Test(arguments: ["http_request_plain.raw", "http_request_encrypted_sig.raw"])
    func aRealHubzillaSyncPacketIsIgnoredWith200(file: String) async throws {
        let pair = try await ServedPair.start()
        let before = try pair.b.digest()
        let (headers, body) = try Self.hubzillaRequest(file)
        let (code, text) = try await pair.send(OutboundRequest(method: "POST", url: pair.zot, headers: headers, body: body))
        #expect(code == 200, "\(text)")
        let answer = try WireJSON.decode(DeliveryAnswer.self, from: text, what: "answer")
        #expect(answer.success && answer.deliveryReport.first?.status == "unknown encoding ignored")
        #expect(try pair.b.digest() == before)
        await pair.stop()
    }

    @Test func aRequestSignedForAnotherHostIs401() async throws {
        let pair = try await ServedPair.start()
        let before = try pair.b.digest()
        // Sent to localhost:PORT: the node's own URL names 127.0.0.1:PORT, so the signed Host is another site's.
        let url = "http://localhost:\(pair.port)/zot"
        let request = try pair.signer().post(url: url, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        let (code, body) = try await pair.send(request)
        #expect(code == 401, "\(body)")
        #expect(body.contains("signed for host"))
        #expect(try pair.b.digest() == before)
        await pair.stop()
    }

    @Test func aForkIs409WithCodeForkAndNoAlarm() async throws {
        let pair = try await ServedPair.start()
        let first = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet("same")), now: pair.a.clock.nowMilliseconds())
        #expect(try await pair.send(first).0 == 200)
        // Another entry at the same (origin, seq): what a site restored from a backup sends.
        let applied = try pair.a.site.log(nickname: "alice").last!
        let fork = ChangeEntry(origin: applied.origin, seq: applied.seq, hlc: applied.hlc, entity: "item", key: "same", op: .put, body: #"{"v":9}"#)
        let channel = try pair.a.site.channel(nickname: "alice")
        let data = SyncData(channel: channel.portableID, from: try pair.a.site.identity().siteID, entries: [fork],
                            vector: VersionVector([applied.origin: applied.seq]), digest: String(repeating: "0", count: 64))
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.seal(data)), now: pair.a.clock.nowMilliseconds())
        let (code, body) = try await pair.send(request)
        #expect(code == 409)
        let refusal = try WireJSON.decode(ErrorBody.self, from: body, what: "error body")
        #expect(refusal.code == "fork" && refusal.origin == applied.origin.text && refusal.seq == applied.seq)
        #expect(try pair.b.site.syncStatus(nickname: "alice").diverged == nil)
        await pair.stop()
    }

    @Test func theAdminAPIIsNotOnTheFederationListener() async throws {
        let pair = try await ServedPair.start()
        let auth = [("Authorization", "Bearer \(pair.token)")]
        let (federation, body) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)/api/v1/channels", headers: auth))
        #expect(federation == 404)
        #expect(try WireJSON.decode(ErrorBody.self, from: body, what: "error").success == false)
        #expect(try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)/metrics")).0 == 404)
        #expect(try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/api/v1/channels", headers: auth)).0 == 200)
        #expect(try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/api/v1/channels")).0 == 401)
        await pair.stop()
    }

    @Test func aDivergedChannelMakesHealthDegradedAndShowsInMetrics() async throws {
        let pair = try await ServedPair.start()
        let channel = try pair.b.site.channel(nickname: "alice")
        try pair.b.site.heard(channel: channel, from: try pair.a.site.identity().siteID,
                              vector: try pair.b.site.channelStatus(nickname: "alice").vector, digest: String(repeating: "0", count: 64))
        let (code, body) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.port)/health"))
        #expect(code == 503 && body.contains("degraded") && body.contains("alice"))
        let (_, metrics) = try await pair.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(pair.adminPort)/metrics"))
        #expect(metrics.contains(#"nomadsync_channel_diverged{channel="alice"} 1"#), "\(metrics.prefix(2000))")
        await pair.stop()
    }
}
