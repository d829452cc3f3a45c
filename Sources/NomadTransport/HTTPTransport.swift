import Foundation

/// An outbound HTTP request as nomadsync sends it.
public struct OutboundRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public static func == (a: OutboundRequest, b: OutboundRequest) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body
            && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }
}

/// What came back.
public struct InboundResponse: Sendable, Equatable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// Why a request got no HTTP answer at all (the site is unreachable at that URL).
public struct TransportError: Error, CustomStringConvertible, Equatable {
    public var url: String
    public var reason: String

    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }

    public var description: String { "\(url): \(reason)" }
}

/// Sends requests. The delivery worker and catch-up use it; tests swap in a scripted one.
public protocol HTTPTransport: Sendable {
    /// Sends the request and returns any HTTP answer, whatever its status.
    /// Throws `TransportError` only when no answer came (refused, timed out, DNS…).
    func send(_ request: OutboundRequest) async throws -> InboundResponse
}

/// An answer whose body went to a file rather than to memory (a blob).
public struct DownloadedResponse: Sendable {
    public var status: Int
    /// The body, in a temporary file the caller owns (moves or deletes).
    public var file: URL

    public init(status: Int, file: URL) {
        self.status = status
        self.file = file
    }
}

extension HTTPTransport {
    /// Sends the request and writes the answer's body to a temporary file. This default goes
    /// through `send` (scripted transports in tests); `URLSessionTransport` streams to disk.
    public func download(_ request: OutboundRequest) async throws -> DownloadedResponse {
        let response = try await send(request)
        let file = URL(fileURLWithPath: NSTemporaryDirectory() + "nomadsync-download-\(UUID().uuidString)")
        try response.body.write(to: file)
        return DownloadedResponse(status: response.status, file: file)
    }
}
