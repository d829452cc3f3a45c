import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `HTTPTransport` over FoundationNetworking's `URLSession` (libcurl on Linux). Each instance owns
/// its session: no shared state, no cookies, no cache, no redirects followed.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    // URLSession is thread-safe; it is created once and never mutated.
    private let session: URLSession
    public let timeout: TimeInterval

    /// - Parameter timeout: seconds for a whole request (connect, send, answer).
    public init(timeout: TimeInterval = 15) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        self.session = URLSession(configuration: configuration)
        self.timeout = timeout
    }

    deinit { session.finishTasksAndInvalidate() }

    public func send(_ request: OutboundRequest) async throws -> InboundResponse {
        guard let url = URL(string: request.url) else { throw TransportError(url: request.url, reason: "not a valid URL") }
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers where name.lowercased() != "host" {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        do {
            let (data, response) = try await session.data(for: urlRequest)
            guard let http = response as? HTTPURLResponse else {
                throw TransportError(url: request.url, reason: "the answer is not HTTP")
            }
            return InboundResponse(status: http.statusCode, body: data)
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(url: request.url, reason: error.localizedDescription)
        }
    }
}
