import Foundation
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// Every refusal of DESIGN §4 against a real node on loopback: the listed status, a
/// `{"success":false,"message"}` body, and B's digest unchanged.
@Suite(.serialized)
struct RefusalTests {
    /// Sends `request` and checks the status, the error body and that nothing was applied.
    func expectRefusal(_ pair: ServedPair, _ request: OutboundRequest, status: Int, mentioning words: String,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = try pair.b.digest()
        let (code, body) = try await pair.send(request)
        #expect(code == status, "body: \(body)", sourceLocation: sourceLocation)
        let error = try WireJSON.decode(ErrorBody.self, from: body, what: "error body")
        #expect(error.success == false, sourceLocation: sourceLocation)
        #expect(error.message.lowercased().contains(words.lowercased()), "message: \(error.message)", sourceLocation: sourceLocation)
        #expect(try pair.b.digest() == before, "a refused packet changed the digest", sourceLocation: sourceLocation)
    }

    @Test func aGoodPacketIsAppliedAndAcknowledged() async throws {
        let pair = try await ServedPair.start()
        let before = try pair.b.digest()
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        let (code, body) = try await pair.send(request)
        #expect(code == 200)
        let answer = try WireJSON.decode(DeliveryAnswer.self, from: body, what: "answer")
        #expect(answer.success)
        #expect(answer.deliveryReport.first?.status == "sync applied: 1 applied, 0 duplicate, 0 held")
        #expect(try pair.b.digest() != before)
        #expect(try pair.b.digest() == (try pair.a.digest()))
        await pair.stop()
    }

    @Test func aBadSignatureIs401() async throws {
        let pair = try await ServedPair.start()
        var request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        let index = request.headers.firstIndex { $0.0 == "Signature" }!
        var value = request.headers[index].1
        let sigStart = value.range(of: "signature=\"")!.upperBound
        value.replaceSubrange(sigStart..<value.index(sigStart, offsetBy: 4), with: "AAAA")
        request.headers[index].1 = value
        try await expectRefusal(pair, request, status: 401, mentioning: "does not verify")
        await pair.stop()
    }

    @Test func aSignerWhoIsNotTheSenderIs401() async throws {
        let pair = try await ServedPair.start()
        // mallory's key and key id sign a packet whose envelope says alice sent it.
        let request = try pair.signer(nick: "mallory").post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 401, mentioning: "not the envelope's sender")
        await pair.stop()
    }

    @Test func anUnknownSenderSiteWithoutALocationEntryIs403() async throws {
        let pair = try await ServedPair.start()
        let stranger = try LocalSite(url: "http://127.0.0.1:9", seed: 99, clock: pair.a.clock)
        defer { stranger.remove() }
        let channel = try pair.a.site.channel(nickname: "alice")
        let data = SyncData(channel: channel.portableID, from: try stranger.site.identity().siteID, entries: [],
                            vector: VersionVector(), digest: String(repeating: "0", count: 64))
        let envelope = try pair.seal(data, siteID: try stranger.site.identity().siteID)
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(envelope), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 403, mentioning: "not a location")
        await pair.stop()
    }

    @Test func aForgedLocationEntryDoesNotIntroduceASite() async throws {
        let pair = try await ServedPair.start()
        let stranger = try LocalSite(url: "http://127.0.0.1:9", seed: 98, clock: pair.a.clock)
        defer { stranger.remove() }
        _ = try stranger.site.createChannel(nickname: "alice")  // its own key, not alice's
        let theirs = try stranger.site.log(nickname: "alice").filter { $0.entity == "location" }
        let channel = try pair.a.site.channel(nickname: "alice")
        let data = SyncData(channel: channel.portableID, from: try stranger.site.identity().siteID, entries: theirs,
                            vector: VersionVector(), digest: String(repeating: "0", count: 64))
        let envelope = try pair.seal(data, siteID: try stranger.site.identity().siteID)
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(envelope), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 403, mentioning: "not a location")
        await pair.stop()
    }

    @Test func aReplayedTokenIs409() async throws {
        let pair = try await ServedPair.start()
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds())
        let (first, _) = try await pair.send(request)
        #expect(first == 200)
        try await expectRefusal(pair, request, status: 409, mentioning: "already used")
        await pair.stop()
    }

    @Test func aStaleDateIs401() async throws {
        let pair = try await ServedPair.start()
        let twentyMinutesAgo = pair.a.clock.nowMilliseconds() - 20 * 60 * 1000
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: twentyMinutesAgo)
        try await expectRefusal(pair, request, status: 401, mentioning: "outside the accepted window")
        await pair.stop()
    }

    @Test func anOversizedBodyIs413() async throws {
        var limits = WireLimits.standard
        limits.maxBodyBytes = 64 * 1024
        let pair = try await ServedPair.start(limits: limits)
        let big = Array(repeating: UInt8(ascii: " "), count: 100 * 1024) + Array("{}".utf8)
        let request = try pair.signer().post(url: pair.zot, body: big, now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 413, mentioning: "limit")
        await pair.stop()
    }

    @Test func malformedJSONIs400() async throws {
        let pair = try await ServedPair.start()
        let request = try pair.signer().post(url: pair.zot, body: Array(#"{"type":"sync","encoding":"#.utf8), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 400, mentioning: "malformed")
        await pair.stop()
    }

    @Test func anUnknownMessageTypeIs400() async throws {
        let pair = try await ServedPair.start()
        let body = Array(#"{"type":"gossip","encoding":"nomadsync"}"#.utf8)
        let request = try pair.signer().post(url: pair.zot, body: body, now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 400, mentioning: "unknown message type")
        await pair.stop()
    }

    @Test func anEntryWhoseIdDoesNotMatchIs422() async throws {
        let pair = try await ServedPair.start()
        pair.a.clock.advance(by: 1)
        let real = try pair.a.site.append(nickname: "alice", [Change(entity: "item", key: "x", op: .put, body: #"{"v":1}"#)])[0]
        // The same id over different content.
        let entry = ChangeEntry(id: real.id, origin: real.origin, seq: real.seq, hlc: real.hlc, entity: real.entity, key: real.key,
                                op: real.op, body: #"{"v":2}"#)
        let channel = try pair.a.site.channel(nickname: "alice")
        let data = SyncData(channel: channel.portableID, from: try pair.a.site.identity().siteID, entries: [entry],
                            vector: VersionVector(), digest: String(repeating: "0", count: 64))
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.seal(data)), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 422, mentioning: "id")
        await pair.stop()
    }

    @Test func aPayloadSealedToAnotherSiteIs422() async throws {
        let pair = try await ServedPair.start()
        var envelope = try pair.packet()
        let other = SealKeyPair.generate(using: SystemRandom())
        envelope.data = try SealedPayload.seal(Array("{}".utf8), to: other.publicKey, additionalData: [], random: SystemRandom())
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(envelope), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 422, mentioning: "cannot be opened")
        await pair.stop()
    }

    @Test func theWrongContentTypeIs415() async throws {
        let pair = try await ServedPair.start()
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet()), now: pair.a.clock.nowMilliseconds(),
                                             contentType: "text/plain")
        try await expectRefusal(pair, request, status: 415, mentioning: "content-type")
        await pair.stop()
    }

    @Test func aChannelNotHostedHereIs403() async throws {
        let pair = try await ServedPair.start()
        let mallory = try pair.a.site.channel(nickname: "mallory")
        let data = SyncData(channel: mallory.portableID, from: try pair.a.site.identity().siteID, entries: [],
                            vector: VersionVector(), digest: String(repeating: "0", count: 64))
        let request = try pair.signer(nick: "mallory").post(url: pair.zot, body: try pair.body(try pair.seal(data)), now: pair.a.clock.nowMilliseconds())
        try await expectRefusal(pair, request, status: 403, mentioning: "not hosted")
        await pair.stop()
    }

    @Test func anUnknownEncodingIsIgnoredWith200() async throws {
        let pair = try await ServedPair.start()
        let before = try pair.b.digest()
        var envelope = try pair.packet()
        envelope.encoding = "hz"
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(envelope), now: pair.a.clock.nowMilliseconds())
        let (code, body) = try await pair.send(request)
        #expect(code == 200)
        let answer = try WireJSON.decode(DeliveryAnswer.self, from: body, what: "answer")
        #expect(answer.success)
        #expect(answer.deliveryReport.first?.status == "unknown encoding ignored")
        #expect(try pair.b.digest() == before)
        await pair.stop()
    }
}
