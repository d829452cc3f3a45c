import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NomadTransport

/// `HTTPTransport` over AsyncHTTPClient (SwiftNIO): keep-alive connections pooled per host, a
/// body written as one buffer, answers read on NIO's event loops. The delivery worker sends
/// hundreds of packets of a few hundred KiB to the same peers; through `URLSessionTransport`
/// (libcurl driven by Dispatch sources on Linux) the sender spent more CPU than the receiver's
/// whole replay, most of it waking threads (docs/PERFORMANCE.md).
///
/// The same rules as `URLSessionTransport`:
/// - **No redirects.** A 3xx answer is returned as it is.
/// - **Bounded answers.** Reading stops, and the request fails, once the body passes
///   `maxResponseBytes` (a declared `Content-Length` over it fails before any byte is read).
/// - **Bounded time.** The whole request, answer body included, ends within `timeout` seconds.
/// - **Cancellable.** Cancelling the calling task cancels the request.
///
/// ```swift
/// let transport = PooledHTTPTransport(timeout: 15)
/// let answer = try await transport.send(OutboundRequest(method: "GET", url: "https://b.example/health"))
/// ```
public struct PooledHTTPTransport: HTTPTransport {
    public let timeout: TimeInterval
    public let maxResponseBytes: Int

    /// - Parameters:
    ///   - timeout: seconds for a whole request (connect, send, answer).
    ///   - maxResponseBytes: the largest answer body read (default 16 MiB).
    public init(timeout: TimeInterval = 15, maxResponseBytes: Int = 16 << 20) {
        self.timeout = timeout.isFinite && timeout > 0 ? min(timeout, 86_400) : 15
        self.maxResponseBytes = max(0, maxResponseBytes)
    }

    /// One client for the whole process, so every transport value shares its connection pool.
    /// It is never shut down: it lives as long as the process (a client released before its
    /// shutdown traps in debug builds).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        // A refused connection fails the request at once, as libcurl does. By default the pool
        // retries connecting until the connect timeout (10 s), and the delivery worker's pass
        // would wait that long for every site that is down; delivery has its own backoff.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public func send(_ request: OutboundRequest) async throws -> InboundResponse {
        let outbound = Self.request(request)
        return try await bounded(request.url) {
            let response = try await Self.client.execute(outbound, timeout: timeAmount)
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return InboundResponse(status: Int(response.status.code), body: Data(body.readableBytesView))
        }
    }

    /// Streams the answer's body to a temporary file as it arrives: a blob of any size never
    /// sits in memory. No redirect is followed.
    public func download(_ request: OutboundRequest) async throws -> DownloadedResponse {
        let outbound = Self.request(request)
        let file = URL(fileURLWithPath: NSTemporaryDirectory() + "nomadsync-download-\(UUID().uuidString)")
        do {
            return try await bounded(request.url) {
                let response = try await Self.client.execute(outbound, timeout: timeAmount)
                guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
                    throw TransportError(url: request.url, reason: "cannot create \(file.path)")
                }
                let handle = try FileHandle(forWritingTo: file)
                defer { try? handle.close() }
                for try await buffer in response.body { try handle.write(contentsOf: Data(buffer.readableBytesView)) }
                return DownloadedResponse(status: Int(response.status.code), file: file)
            }
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    static func request(_ request: OutboundRequest) -> HTTPClientRequest {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers where name.lowercased() != "host" {
            outbound.headers.add(name: name, value: value)
        }
        if !request.body.isEmpty { outbound.body = .bytes(ByteBuffer(bytes: request.body)) }
        return outbound
    }

    var timeAmount: TimeAmount { .milliseconds(Int64(timeout * 1000)) }

    /// Runs `work` within `timeout` seconds (the client's own deadline ends at the answer's
    /// head; this one covers the body too), and turns whatever fails into a `TransportError`.
    func bounded<T: Sendable>(_ url: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let seconds = timeout
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw TransportError(url: url, reason: "no complete answer within \(seconds) s")
                }
                return value
            }
        } catch let error as TransportError {
            throw error
        } catch is CancellationError {
            throw TransportError(url: url, reason: "cancelled")
        } catch {
            throw TransportError(url: url, reason: Self.describe(error))
        }
    }

    /// What an admin reads in a log line for a request that got no answer.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded: return "timed out"
        case let error as HTTPClientError where error == .cancelled: return "cancelled"
        case is NIOTooManyBytesError: return "the answer is larger than the limit"
        default: return "\(error)"
        }
    }
}
