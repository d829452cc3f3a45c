import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import ServiceLifecycle
import Synchronization
import Testing
@testable import NomadEngine

/// Webhooks against a real receiver on loopback: the feed arrives signed, in order, once, and a
/// refused post is retried without skipping anything.
@Suite(.serialized)
struct WebhookTests {
    /// A stand-in paired server: keeps each POST and answers with the next scripted status.
    final class Receiver: Sendable {
        let posts = Mutex<[(body: Data, signature: String, status: Int)]>([])
        let script = Mutex<[Int]>([])
        func next() -> Int { script.withLock { $0.isEmpty ? 200 : $0.removeFirst() } }
    }

    static func receiver(_ receiver: Receiver) async throws -> (url: String, group: ServiceGroup, task: Task<Void, any Error>) {
        let port = try freePort()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let status = receiver.next()
            receiver.posts.withLock {
                $0.append((Data(body.readableBytesView), request.headers[HTTPField.Name("X-Nomadsync-Signature")!] ?? "", status))
            }
            return Response(status: .init(code: status))
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let running = Mutex(false)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in running.withLock { $0 = true } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        for _ in 0..<200 where !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(25)) }
        return ("http://127.0.0.1:\(port)/hook", group, task)
    }

    /// Sends one change from A to B over HTTP.
    func push(_ pair: ServedPair, _ key: String) async throws {
        let request = try pair.signer().post(url: pair.zot, body: try pair.body(try pair.packet(key)), now: pair.a.clock.nowMilliseconds())
        let (code, body) = try await pair.send(request)
        #expect(code == 200, "\(body)")
    }

    func delivered(_ receiver: Receiver) -> [String] {
        receiver.posts.withLock { posts in
            posts.filter { $0.status == 200 }.flatMap { post -> [String] in
                let page = try? WireJSON.decode(FeedPage.self, from: post.body, what: "feed page")
                return page?.changes.map(\.key) ?? []
            }
        }
    }

    func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }  // bounded: 10 s
        guard condition() else { throw Failure(what) }
    }

    struct Failure: Error { let description: String; init(_ d: String) { description = d } }

    @Test func aChangeFromAnotherCloneIsPostedOnceSignedWithTheKey() async throws {
        let pair = try await ServedPair.start()
        let receiver = Receiver()
        let server = try await Self.receiver(receiver)
        let hook = try pair.b.site.addWebhook(url: server.url, nickname: "alice")
        try await push(pair, "k1")
        try await waitFor("the webhook post") { delivered(receiver) == ["k1"] }
        let post = try #require(receiver.posts.withLock { $0.first })
        let key = SecureBytes(try Base64URL.decode(hook.secret, what: "secret", length: 32))
        #expect(post.signature == "sha256=" + Hex.encode(HMACSHA256.authenticate(Array(post.body), key: key)))
        // The node records the 2xx just after the receiver kept the post.
        try await waitFor("the cursor to move past k1") { (try? pair.b.site.webhooks().first?.backlog) == 0 }
        try await Task.sleep(for: .milliseconds(600))
        #expect(delivered(receiver) == ["k1"], "a change was posted twice")
        await server.group.triggerGracefulShutdown()
        await pair.stop()
    }

    @Test func aRefusedPostIsRetriedAndNothingIsSkippedOrReordered() async throws {
        let pair = try await ServedPair.start()
        let receiver = Receiver()
        receiver.script.withLock { $0 = [500, 503] }
        let server = try await Self.receiver(receiver)
        _ = try pair.b.site.addWebhook(url: server.url, nickname: "alice")
        try await push(pair, "k1")
        try await waitFor("the first, refused post") { receiver.posts.withLock { $0.count } >= 1 }
        try await push(pair, "k2")
        #expect(try pair.b.site.webhooks().first?.lastError == "HTTP 500")
        // The node's clock is the test's: let each backoff pass, as often as the retries need
        // (a pass under load can take longer than one step). Bounded: 40 steps, 10 s.
        for _ in 0..<40 where delivered(receiver) != ["k1", "k2"] {
            pair.a.clock.advance(by: 3_600_000)
            try await Task.sleep(for: .milliseconds(250))
        }
        try await waitFor("both changes, in order") { delivered(receiver) == ["k1", "k2"] }
        try await waitFor("the cursor to move past k2") { (try? pair.b.site.webhooks().first?.backlog) == 0 }
        await server.group.triggerGracefulShutdown()
        await pair.stop()
    }
}
