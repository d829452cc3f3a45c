import Foundation
import Hummingbird
import Logging
import NomadHTTPClient
import NomadTransport
import ServiceLifecycle
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Both outbound HTTP clients against a real server on loopback: each follows no redirect,
/// reads no answer past its limit, and stops when its task is cancelled.
@Suite(.serialized)
struct TransportBoundsTests {
    enum Client: String, CaseIterable, CustomTestStringConvertible {
        case urlSession, pooled

        func make(timeout: TimeInterval, maxResponseBytes: Int = 16 << 20) -> any HTTPTransport {
            switch self {
            case .urlSession: URLSessionTransport(timeout: timeout, maxResponseBytes: maxResponseBytes)
            case .pooled: PooledHTTPTransport(timeout: timeout, maxResponseBytes: maxResponseBytes)
            }
        }

        var testDescription: String { rawValue }
    }

    /// A server with `/redirect` (307 to `/target`), `/target` and `/big` (1 MiB).
    final class Hits: Sendable {
        let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func server() async throws -> (port: Int, group: ServiceGroup, task: Task<Void, any Error>, hits: Hits) {
        let port = try freePort()
        let router = Router()
        let hits = Hits()
        router.post("/redirect") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.location] = "http://127.0.0.1:\(port)/target"
            return Response(status: .temporaryRedirect, headers: headers)
        }
        router.post("/target") { _, _ -> String in
            hits.add()
            return #"{"success":true,"delivery_report":[]}"#
        }
        router.get("/big") { _, _ -> String in String(repeating: "x", count: 1 << 20) }
        var logger = Logger(label: "transport-test")
        logger.logLevel = .critical
        let running = Mutex(false)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in running.withLock { $0 = true } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        for _ in 0..<200 where !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(25)) }
        return (port, group, task, hits)
    }

    @Test(arguments: Client.allCases) func aRedirectIsReturnedNotFollowed(client: Client) async throws {
        let server = try await Self.server()
        let response = try await client.make(timeout: 20).send(
            OutboundRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/redirect", body: Array("{}".utf8)))
        #expect(response.status == 307)
        #expect(server.hits.value == 0, "the signed request was re-sent to the redirect target")
        await server.group.triggerGracefulShutdown()
        _ = try? await server.task.value
    }

    @Test(arguments: Client.allCases) func anAnswerOverTheLimitIsRefused(client: Client) async throws {
        let server = try await Self.server()
        let url = "http://127.0.0.1:\(server.port)/big"
        await #expect(throws: TransportError.self) {
            _ = try await client.make(timeout: 5, maxResponseBytes: 64 * 1024).send(OutboundRequest(method: "GET", url: url))
        }
        let whole = try await client.make(timeout: 5, maxResponseBytes: 2 << 20).send(OutboundRequest(method: "GET", url: url))
        #expect(whole.body.count == 1 << 20)
        await server.group.triggerGracefulShutdown()
        _ = try? await server.task.value
    }

    /// A socket that accepts connections (the kernel's backlog) and never answers; its port.
    static func silentPeer() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = listen(fd, 8)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    @Test(arguments: Client.allCases) func aPeerThatNeverAnswersTimesOut(client: Client) async throws {
        let (fd, port) = Self.silentPeer()
        defer { close(fd) }
        let started = Date()
        await #expect(throws: TransportError.self) {
            _ = try await client.make(timeout: 1).send(OutboundRequest(method: "POST", url: "http://127.0.0.1:\(port)/", body: [1, 2, 3]))
        }
        #expect(Date().timeIntervalSince(started) < 10, "the request outlived its timeout")
    }

    @Test(arguments: Client.allCases) func aRefusedConnectionFailsAtOnce(client: Client) async throws {
        let port = try freePort()  // nothing listens there
        let started = Date()
        await #expect(throws: TransportError.self) {
            _ = try await client.make(timeout: 15).send(OutboundRequest(method: "POST", url: "http://127.0.0.1:\(port)/zot", body: [1]))
        }
        // The delivery worker's pass waits for it: a site that is down must not hold it for long.
        #expect(Date().timeIntervalSince(started) < 3, "a refused connection took \(Date().timeIntervalSince(started)) s to fail")
    }

    @Test(arguments: Client.allCases) func aDownloadWritesTheWholeBodyToAFile(client: Client) async throws {
        let server = try await Self.server()
        let answer = try await client.make(timeout: 10).download(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/big"))
        defer { try? FileManager.default.removeItem(at: answer.file) }
        #expect(answer.status == 200)
        #expect(try Data(contentsOf: answer.file) == Data(String(repeating: "x", count: 1 << 20).utf8))
        await server.group.triggerGracefulShutdown()
        _ = try? await server.task.value
    }

    @Test(arguments: Client.allCases) func cancellingTheTaskEndsARequestToAPeerThatNeverAnswers(client: Client) async throws {
        let (fd, port) = Self.silentPeer()
        defer { close(fd) }
        let transport = client.make(timeout: 60)
        let started = Date()
        let task = Task { try await transport.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(port)/")) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: TransportError.self) { _ = try await task.value }
        #expect(Date().timeIntervalSince(started) < 10, "the request outlived its cancelled task")
    }

    @Test(arguments: Client.allCases) func manyRequestsCancelledAtAnyMomentAllEnd(client: Client) async throws {
        let server = try await Self.server()
        let transport = client.make(timeout: 60)
        let ended = Hits()
        let count = 200
        // A node shutting down mid-pass cancels requests at every stage: before the session has
        // them, while they connect, while the answer arrives.
        let tasks = (0..<count).map { _ in
            Task {
                _ = try? await transport.send(OutboundRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/big"))
                ended.add()
            }
        }
        for (index, task) in tasks.enumerated() {
            if index % 10 == 0 { try await Task.sleep(for: .milliseconds(1)) }
            task.cancel()
        }
        for _ in 0..<200 where ended.value < count { try await Task.sleep(for: .milliseconds(50)) }
        #expect(ended.value == count, "some requests never ended: their callers would wait forever")
        await server.group.triggerGracefulShutdown()
        _ = try? await server.task.value
    }
}
