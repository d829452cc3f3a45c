import Foundation
import NomadCrypto
import NomadModel
import Synchronization
import Testing
@testable import NomadTransport

/// Answers by URL prefix; a URL without an answer is unreachable. Records the URLs asked.
final class AnsweringTransport: HTTPTransport {
    let answers: [String: (Int, String)]
    private let asked = Mutex<[String]>([])

    init(_ answers: [String: (Int, String)]) { self.answers = answers }

    var urls: [String] { asked.withLock { $0 } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        asked.withLock { $0.append(request.url) }
        guard let (status, body) = answers.first(where: { request.url.hasPrefix($0.key) })?.value else {
            throw TransportError(url: request.url, reason: "connection refused")
        }
        return InboundResponse(status: status, body: Data(body.utf8))
    }
}

@Suite struct SyncClientTests {
    static let ack = #"{"success":true,"delivery_report":[]}"#
    static let keys = SigningKeyPair.generate(using: SeededRandom(seed: 3))
    static let urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]

    static func post(_ transport: AnsweringTransport) async -> PeerAnswer<DeliveryAnswer> {
        await SyncClient(transport: transport, random: SeededRandom(seed: 4))
            .post(Array("{}".utf8), to: urls, keys: keys, keyURL: "http://127.0.0.1:9/channel/alice", now: { 784_111_777_000 })
    }

    @Test func aServerErrorAtTheMainURLTriesTheFallback() async {
        let transport = AnsweringTransport([Self.urls[0]: (503, "busy"), Self.urls[1]: (200, Self.ack)])
        guard case .answered = await Self.post(transport) else { Issue.record("expected an ack from the fallback"); return }
        #expect(transport.urls == Self.urls.map { "\($0)/zot" })
    }

    @Test func aClientErrorIsFinalAndCarriesItsCode() async {
        let body = #"{"success":false,"message":"fork","code":"fork","origin":"o","seq":7}"#
        let transport = AnsweringTransport([Self.urls[0]: (409, body), Self.urls[1]: (200, Self.ack)])
        guard case .refused(let refusal) = await Self.post(transport) else { Issue.record("expected a refusal"); return }
        #expect(refusal.fork?.origin == "o" && refusal.fork?.seq == 7)
        #expect(transport.urls == ["\(Self.urls[0])/zot"])
    }

    @Test func aSuccessStatusWithoutSuccessTrueIsARefusal() async {
        let transport = AnsweringTransport([Self.urls[0]: (200, "<html>welcome</html>")])
        guard case .refused(let refusal) = await Self.post(transport) else { Issue.record("expected a refusal"); return }
        #expect(refusal.status == 200 && refusal.excerpt.contains("welcome"))
    }

    @Test func serverErrorsEverywhereAreARefusalNotUnreachable() async {
        let transport = AnsweringTransport([Self.urls[0]: (500, "x"), Self.urls[1]: (502, "y")])
        guard case .refused(let refusal) = await Self.post(transport) else { Issue.record("expected a refusal"); return }
        #expect(refusal.status == 502)
    }

    @Test func noAnswerAnywhereIsUnreachable() async {
        guard case .unreachable(let reason) = await Self.post(AnsweringTransport([:])) else { Issue.record("expected unreachable"); return }
        #expect(reason.contains("connection refused"))
    }

    @Test func aPullAnswerThatIsNotAPageIsARefusal() async throws {
        let transport = AnsweringTransport([Self.urls[0]: (200, #"{"success":true}"#)])
        let answer = await SyncClient(transport: transport, random: SeededRandom(seed: 4)).pull(
            channel: try PortableID(validating: String(repeating: "A", count: 86)), origin: try OriginID(validating: String(repeating: "A", count: 22)),
            after: 5, limit: 10, from: Self.urls, keys: Self.keys, keyURL: "http://127.0.0.1:9/channel/alice", now: { 784_111_777_000 })
        guard case .refused(let refusal) = answer else { Issue.record("expected a refusal"); return }
        #expect(refusal.excerpt.hasPrefix("not a sync page"))
        #expect(transport.urls.first?.hasSuffix("/entries?origin=\(String(repeating: "A", count: 22))&after=5&limit=10") == true)
    }
}
