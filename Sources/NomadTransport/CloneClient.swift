import Foundation
import NomadCrypto
import NomadModel

/// The new site's side of an online bootstrap (docs/PROTOCOL.md §11): claims a ticket at the
/// inviting site and pulls the log from it page by page, each request signed by this site's key.
///
/// ```swift
/// let client = CloneClient(transport: URLSessionTransport(), random: SystemRandom())
/// let grant = await client.claim(claim, at: ticket.url)
/// ```
public struct CloneClient: Sendable {
    public let transport: any HTTPTransport
    public let random: any RandomSource
    public var maxDepth: Int

    public init(transport: any HTTPTransport, random: any RandomSource, maxDepth: Int = WireLimits.standard.maxJSONDepth) {
        self.transport = transport
        self.random = random
        self.maxDepth = maxDepth
    }

    /// `POST {url}/clone/claim` with the claim as JSON.
    public func claim(_ claim: CloneClaim, at url: String) async -> PeerAnswer<CloneGrant> {
        do {
            let body = Array(try WireJSON.encode(claim).utf8)
            let response = try await transport.send(OutboundRequest(method: "POST", url: "\(url)/clone/claim",
                                                                    headers: [("Content-Type", "application/json")], body: body))
            guard response.status == 200 else { return .refused(SyncClient.refusal(url, response)) }
            do {
                return .answered(try WireJSON.decode(CloneGrant.self, from: response.body, what: "clone grant", maxDepth: maxDepth))
            } catch {
                return .refused(PeerRefusal(url: url, status: 200, body: nil, excerpt: "not a clone grant: \(error)"))
            }
        } catch {
            return .unreachable("\(url): \(error)")
        }
    }

    /// `GET {url}/clone/{ticket}/entries?origin=…&after=…&limit=…`, signed by this site's key
    /// (`keyId = <siteURL>#ed25519`).
    public func page(ticket: String, origin: OriginID, after: UInt64, limit: Int, at url: String, siteKeys: SigningKeyPair,
                     siteURL: String, now: UInt64) async -> PeerAnswer<SealedPage> {
        let signer = RequestSigner(keys: siteKeys, idURL: siteURL, random: random)
        do {
            let target = "\(url)/clone/\(ticket)/entries?origin=\(origin.text)&after=\(after)&limit=\(limit)"
            let response = try await transport.send(try signer.get(url: target, now: now))
            guard response.status == 200 else { return .refused(SyncClient.refusal(url, response)) }
            do {
                return .answered(try WireJSON.decode(SealedPage.self, from: response.body, what: "sync page", maxDepth: maxDepth))
            } catch {
                return .refused(PeerRefusal(url: url, status: 200, body: nil, excerpt: "not a sync page: \(error)"))
            }
        } catch {
            return .unreachable("\(url): \(error)")
        }
    }
}
