import Foundation
import NomadCrypto
import NomadModel
@testable import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// `POST /heartbeat` on a real node (B), sent by hand from A (docs/PROTOCOL.md §7.7).
@Suite struct SiteHeartbeatRouteTests {
    /// A's report of `nick` as A holds it.
    static func report(_ site: LocalSite, _ nick: String = "alice") throws -> ChannelReport {
        let status = try site.site.channelStatus(nickname: nick)
        let channel = try site.site.channel(nickname: nick)
        return ChannelReport(channel: channel.portableID, vector: try site.site.store.read { try $0.vector(channel: channel.rowID) },
                             digest: status.digest)
    }

    /// A signed `POST /heartbeat` from `from` to B carrying `reports`.
    static func request(_ pair: ServedPair, from: LocalSite? = nil, reports: [ChannelReport], keys: SigningKeyPair? = nil,
                        recipient: SiteID? = nil) throws -> OutboundRequest {
        let sender = from ?? pair.a
        let identity = try sender.site.identity()
        let bLocation = try pair.b.location
        var target = bLocation
        if let recipient { target.siteID = recipient }
        let data = SiteHeartbeatData(from: identity.siteID, to: target.siteID, channels: reports)
        let heartbeat = try sender.site.sealSiteHeartbeat(data, to: target, identity: identity)
        let signer = RequestSigner(keys: keys ?? identity.signing, keyID: "\(sender.url)#ed25519", random: SystemRandom())
        return try signer.post(url: "http://127.0.0.1:\(pair.port)/heartbeat", body: Array(try WireJSON.encode(heartbeat).utf8),
                               now: pair.a.clock.nowMilliseconds())
    }

    /// When B last heard from A about alice.
    static func lastHeard(_ pair: ServedPair) throws -> UInt64? {
        let aID = try pair.a.site.identity().siteID
        let channel = try pair.b.site.channel(nickname: "alice")
        return try pair.b.site.store.read { try $0.peer(channel: channel.rowID, siteID: aID) }?.lastHeard
    }

    /// Runs `body` against a fresh pair and stops it afterwards, whether `body` threw or not.
    static func with(_ body: (ServedPair) async throws -> Void) async throws {
        let pair = try await ServedPair.start()
        do { try await body(pair) } catch {
            await pair.stop()
            throw error
        }
        await pair.stop()
    }

    static func refused(_ pair: ServedPair, _ request: OutboundRequest, status: Int, code: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (answer, body) = try await pair.send(request)
        #expect(answer == status, "body: \(body)", sourceLocation: sourceLocation)
        #expect(try WireJSON.decode(ErrorBody.self, from: Data(body.utf8), what: "error").code == code, sourceLocation: sourceLocation)
        #expect(try lastHeard(pair) == nil, "a refusal records nothing", sourceLocation: sourceLocation)
    }

    @Test func aHeartbeatFromALocationIsRecordedPerChannel() async throws {
        try await Self.with { pair in
            let mallory = try Self.report(pair.a, "mallory")  // not cloned to B
            let (status, body) = try await pair.send(try Self.request(pair, reports: [try Self.report(pair.a), mallory]))
            #expect(status == 200, "body: \(body)")
            let answer = try WireJSON.decode(SiteHeartbeatAnswer.self, from: Data(body.utf8), what: "answer")
            #expect(answer.channels.map(\.status) == [ChannelReportStatus.recorded, ChannelReportStatus.unknownChannel])
            #expect(try Self.lastHeard(pair) == pair.a.clock.nowMilliseconds())
        }
    }

    @Test func aHeartbeatSignedByAChannelKeyIsRefused() async throws {
        try await Self.with { pair in
            let channelKeys = try pair.a.site.channelKeys(try pair.a.site.channel(nickname: "alice"))
            try await Self.refused(pair, try Self.request(pair, reports: [try Self.report(pair.a)], keys: channelKeys), status: 401)
        }
    }

    @Test func aSiteThatIsNoLocationOfTheReportedChannelsIsRefused() async throws {
        try await Self.with { pair in
            let stranger = try LocalSite(url: "http://127.0.0.1:\(try freePort())", seed: 77, clock: pair.a.clock)
            defer { stranger.remove() }
            try await Self.refused(pair, try Self.request(pair, from: stranger, reports: [try Self.report(pair.a)]), status: 403,
                                   code: "unknown-location")
        }
    }

    @Test func aHeartbeatSealedForAnotherSiteIsRefused() async throws {
        try await Self.with { pair in
            let other = try pair.a.site.identity().siteID
            try await Self.refused(pair, try Self.request(pair, reports: [try Self.report(pair.a)], recipient: other), status: 403)
        }
    }

    @Test func aReplayedHeartbeatIsRefused() async throws {
        try await Self.with { pair in
            let request = try Self.request(pair, reports: [try Self.report(pair.a)])
            #expect(try await pair.send(request).0 == 200)
            #expect(try await pair.send(request).0 == 409)
        }
    }

    @Test func aMalformedReportIsRefused() async throws {
        try await Self.with { pair in
            var report = try Self.report(pair.a)
            report.digest = String(repeating: "Z", count: 64)
            try await Self.refused(pair, try Self.request(pair, reports: [report]), status: 400)
            report = try Self.report(pair.a)
            try await Self.refused(pair, try Self.request(pair, reports: [report, report]), status: 400)
        }
    }
}
