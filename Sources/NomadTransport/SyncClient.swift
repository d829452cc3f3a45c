import Foundation
import NomadCrypto
import NomadModel

/// The one client for clone-to-clone requests (docs/PROTOCOL.md §7): posts a packet to a
/// location and pulls a page of entries from one, trying the main URL and then each fallback,
/// and classifies what came back as a `PeerAnswer`. It decides nothing else: what an answer
/// means for the outbox is the engine's `DeliveryPlanner`'s call.
///
/// ```swift
/// let client = SyncClient(transport: URLSessionTransport(), random: SystemRandom())
/// let answer = await client.post(body, to: location.baseURLs, keys: keys, keyURL: idURL, now: clock)
/// ```
public struct SyncClient: Sendable {
    public let transport: any HTTPTransport
    public let random: any RandomSource
    /// JSON nesting accepted in answers.
    public var maxDepth: Int

    public init(transport: any HTTPTransport, random: any RandomSource, maxDepth: Int = WireLimits.standard.maxJSONDepth) {
        self.transport = transport
        self.random = random
        self.maxDepth = maxDepth
    }

    /// `POST {base}/zot` with an envelope, signed by the channel key. Only a 2xx answer whose
    /// body is a delivery answer with `success:true` is an acknowledgement. A 5xx or no answer
    /// tries the next URL; a 4xx is final.
    public func post(_ body: [UInt8], to baseURLs: [String], keys: SigningKeyPair, keyURL: String,
                     now: @Sendable () -> UInt64) async -> PeerAnswer<DeliveryAnswer> {
        let signer = RequestSigner(keys: keys, idURL: keyURL, random: random)
        return await firstAnswer(baseURLs) { base in
            let response = try await transport.send(try signer.post(url: "\(base)/zot", body: body, now: now()))
            if (200..<300).contains(response.status),
               let answer = try? WireJSON.decode(DeliveryAnswer.self, from: response.body, what: "delivery answer"), answer.success {
                return .answered(answer)
            }
            return .refused(Self.refusal(base, response))
        }
    }

    /// `POST {base}/heartbeat` with a site heartbeat, signed by the site key as `<siteURL>#ed25519`
    /// (docs/PROTOCOL.md §7.7). Only a 2xx answer whose body is a heartbeat answer with
    /// `success:true` counts; a 5xx or no answer tries the next URL; a 4xx is final.
    public func heartbeat(_ body: [UInt8], to baseURLs: [String], siteKeys: SigningKeyPair, siteURL: String,
                          now: @Sendable () -> UInt64) async -> PeerAnswer<SiteHeartbeatAnswer> {
        let signer = RequestSigner(keys: siteKeys, keyID: "\(siteURL)#ed25519", random: random)
        return await firstAnswer(baseURLs) { base in
            let response = try await transport.send(try signer.post(url: "\(base)/heartbeat", body: body, now: now()))
            if (200..<300).contains(response.status),
               let answer = try? WireJSON.decode(SiteHeartbeatAnswer.self, from: response.body, what: "heartbeat answer", maxDepth: maxDepth),
               answer.success {
                return .answered(answer)
            }
            return .refused(Self.refusal(base, response))
        }
    }

    /// `GET {base}/sync/{portable_id}/entries?origin=…&after=…&limit=…`, signed by the channel key.
    public func pull(channel: PortableID, origin: OriginID, after: UInt64, limit: Int, from baseURLs: [String],
                     keys: SigningKeyPair, keyURL: String, now: @Sendable () -> UInt64) async -> PeerAnswer<SealedPage> {
        let signer = RequestSigner(keys: keys, idURL: keyURL, random: random)
        return await firstAnswer(baseURLs) { base in
            let url = Self.pullURL(base: base, channel: channel, origin: origin, after: after, limit: limit)
            let response = try await transport.send(try signer.get(url: url, now: now()))
            guard response.status == 200 else { return .refused(Self.refusal(base, response)) }
            do {
                return .answered(try WireJSON.decode(SealedPage.self, from: response.body, what: "sync page", maxDepth: maxDepth))
            } catch {
                return .refused(PeerRefusal(url: base, status: 200, body: nil, excerpt: "not a sync page: \(error)"))
            }
        }
    }

    /// The pull URL for one page (docs/PROTOCOL.md §7.2).
    public static func pullURL(base: String, channel: PortableID, origin: OriginID, after: UInt64, limit: Int) -> String {
        "\(base)/sync/\(channel.text)/entries?origin=\(origin.text)&after=\(after)&limit=\(limit)"
    }

    /// Tries each URL in order until one answers below 500.
    private func firstAnswer<Value>(_ baseURLs: [String], _ attempt: (String) async throws -> PeerAnswer<Value>) async -> PeerAnswer<Value> {
        var lastRefusal: PeerRefusal?
        var reasons: [String] = []
        for base in baseURLs {
            do {
                let answer = try await attempt(base)
                if case .refused(let refusal) = answer, refusal.status >= 500 {
                    lastRefusal = refusal
                    continue
                }
                return answer
            } catch {
                reasons.append("\(error)")
            }
        }
        if let lastRefusal { return .refused(lastRefusal) }
        return .unreachable(reasons.isEmpty ? "the location has no URL" : reasons.joined(separator: "; "))
    }

    static func refusal(_ base: String, _ response: InboundResponse) -> PeerRefusal {
        PeerRefusal(url: base, status: response.status,
                    body: try? WireJSON.decode(ErrorBody.self, from: response.body, what: "error body"),
                    excerpt: String(decoding: response.body.prefix(200), as: UTF8.self))
    }
}
