import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `HTTPTransport` over FoundationNetworking's `URLSession` (libcurl on Linux). Each instance owns
/// its session: no shared state, no cookies, no cache.
///
/// Three rules that a signed-request client needs and `URLSession` does not give by default:
/// - **No redirects.** A 3xx answer is returned as it is; following it would re-send a signed
///   request (and take its `success:true`) from a host nobody chose.
/// - **Bounded answers.** Reading stops, and the request fails, once the body passes
///   `maxResponseBytes` (a declared `Content-Length` over it fails before any byte is read).
/// - **Cancellable.** Cancelling the calling task cancels the request, so a node stops promptly
///   even while a peer hangs.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    // URLSession is thread-safe; it is created once and never mutated.
    private let session: URLSession
    private let delegate: BoundedDelegate
    public let timeout: TimeInterval
    public let maxResponseBytes: Int

    /// - Parameters:
    ///   - timeout: seconds for a whole request (connect, send, answer).
    ///   - maxResponseBytes: the largest answer body read (default 16 MiB).
    public init(timeout: TimeInterval = 15, maxResponseBytes: Int = 16 << 20) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        delegate = BoundedDelegate()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: OutboundRequest) async throws -> InboundResponse {
        guard let url = URL(string: request.url) else { throw TransportError(url: request.url, reason: "not a valid URL") }
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers where name.lowercased() != "host" {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let task = session.dataTask(with: urlRequest)
        // Cancellation answers the caller itself instead of waiting for the session to report
        // the cancelled task: a task cancelled before it was resumed is never reported by
        // FoundationNetworking, and its caller (a node shutting down) would wait forever.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                delegate.start(task, url: request.url, limit: maxResponseBytes, continuation: continuation)
                if Task.isCancelled { delegate.abandon(task) }
            }
        } onCancel: {
            delegate.abandon(task)
        }
    }

    /// Streams the answer's body to a file (libcurl writes it as it arrives): a blob of any
    /// size never sits in memory. No redirect is followed.
    public func download(_ request: OutboundRequest) async throws -> DownloadedResponse {
        guard let url = URL(string: request.url) else { throw TransportError(url: request.url, reason: "not a valid URL") }
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers where name.lowercased() != "host" {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        let (temporary, response): (URL, URLResponse)
        do {
            (temporary, response) = try await session.download(for: urlRequest)
        } catch {
            throw TransportError(url: request.url, reason: "\(error)")
        }
        let file = URL(fileURLWithPath: NSTemporaryDirectory() + "nomadsync-download-\(UUID().uuidString)")
        try FileManager.default.moveItem(at: temporary, to: file)
        return DownloadedResponse(status: (response as? HTTPURLResponse)?.statusCode ?? 0, file: file)
    }
}

/// Collects each task's answer up to its limit and refuses redirects.
final class BoundedDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct Pending {
        var url: String
        var limit: Int
        var continuation: CheckedContinuation<InboundResponse, any Error>
        var data = Data()
        var status = 0
        var overLimit = false
    }

    private let lock = NSLock()
    private var pending: [Int: Pending] = [:]

    func start(_ task: URLSessionDataTask, url: String, limit: Int, continuation: CheckedContinuation<InboundResponse, any Error>) {
        lock.withLock { pending[task.taskIdentifier] = Pending(url: url, limit: limit, continuation: continuation) }
        task.resume()
    }

    /// Answers a pending task's caller with a cancellation now, then cancels the task; whatever
    /// the session reports for it later finds nothing pending. Does nothing for a task not yet
    /// started (`start` checks for cancellation right after registering) or already answered.
    func abandon(_ task: URLSessionDataTask) {
        guard let entry = lock.withLock({ pending.removeValue(forKey: task.taskIdentifier) }) else { return }
        entry.continuation.resume(throwing: TransportError(url: entry.url, reason: "cancelled"))
        task.cancel()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)  // the 3xx answer itself is the result
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        let allow = lock.withLock { () -> Bool in
            guard var entry = pending[dataTask.taskIdentifier] else { return false }
            entry.status = http?.statusCode ?? 0
            if response.expectedContentLength > Int64(entry.limit) { entry.overLimit = true }
            pending[dataTask.taskIdentifier] = entry
            return !entry.overLimit
        }
        completionHandler(allow ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let over = lock.withLock { () -> Bool in
            guard var entry = pending[dataTask.taskIdentifier] else { return false }
            if entry.data.count + data.count > entry.limit {
                entry.overLimit = true
            } else {
                entry.data.append(data)
            }
            pending[dataTask.taskIdentifier] = entry
            return entry.overLimit
        }
        if over { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let entry = lock.withLock({ pending.removeValue(forKey: task.taskIdentifier) }) else { return }
        if entry.overLimit {
            entry.continuation.resume(throwing: TransportError(url: entry.url, reason: "the answer is larger than \(entry.limit) bytes"))
        } else if let error {
            entry.continuation.resume(throwing: TransportError(url: entry.url, reason: error.localizedDescription))
        } else if entry.status == 0 {
            entry.continuation.resume(throwing: TransportError(url: entry.url, reason: "the answer is not HTTP"))
        } else {
            entry.continuation.resume(returning: InboundResponse(status: entry.status, body: entry.data))
        }
    }
}
