import Foundation
import NomadModel

/// Fetches a channel's discovery document (`GET {id_url}` with `Accept: application/x-zot+json`)
/// and checks it whole (`DiscoveryDocument.verified()`): how this site learns a connection's
/// locations, and checks the sender of a `refresh`.
///
/// ```swift
/// let client = DiscoveryClient(transport: URLSessionTransport())
/// let verified = try await client.fetch("https://b.example/channel/bob")
/// ```
public struct DiscoveryClient: Sendable {
    public let transport: any HTTPTransport
    /// The largest document accepted (1 MiB).
    public var maxBytes = 1 << 20
    public var maxDepth = WireLimits.standard.maxJSONDepth

    public init(transport: any HTTPTransport) {
        self.transport = transport
    }

    /// Why a fetch failed, for logs and delivery reports.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var url: String
        public var reason: String
        public var description: String { "discovery of \(url): \(reason)" }
    }

    /// Fetches and verifies the document at `url` (http or https only).
    public func fetch(_ url: String) async throws -> VerifiedDiscovery {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2048,
              !url.contains(where: { $0.isWhitespace || $0 == "#" }) else {
            throw Failure(url: String(url.prefix(200)), reason: "not an http(s) URL")
        }
        let response: InboundResponse
        do {
            response = try await transport.send(OutboundRequest(method: "GET", url: url, headers: [("Accept", "application/x-zot+json")]))
        } catch {
            throw Failure(url: url, reason: "no answer (\(error))")
        }
        guard response.status == 200 else { throw Failure(url: url, reason: "answered HTTP \(response.status)") }
        guard response.body.count <= maxBytes else { throw Failure(url: url, reason: "the document is over \(maxBytes) bytes") }
        do {
            let document = try WireJSON.decode(DiscoveryDocument.self, from: response.body, what: "discovery document", maxDepth: maxDepth)
            return try document.verified()
        } catch {
            throw Failure(url: url, reason: "\(error)")
        }
    }
}
