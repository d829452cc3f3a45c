import Foundation
import Logging
import NomadCrypto
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport
import ServiceLifecycle
import Synchronization

/// Carries out what the engine plans (DESIGN §5): drains the outbox to every other location,
/// sends heartbeats, and pulls missing entries from any live clone. It polls the store, so
/// changes written by the CLI while the node runs leave within one poll interval.
///
/// One pass (`runOnce`) is also what tests drive directly, with a scripted transport.
public struct DeliveryWorker: Service {
    public let site: Site
    public let transport: any HTTPTransport
    public let configuration: NodeConfiguration
    public let metrics: NodeMetrics
    public let logger: Logger
    private let heartbeats = HeartbeatClock()

    public init(site: Site, transport: any HTTPTransport, configuration: NodeConfiguration, metrics: NodeMetrics, logger: Logger) {
        self.site = site
        self.transport = transport
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs passes until the node stops. A graceful shutdown cancels the pass in hand, and with
    /// it any request a hanging peer holds open; the outbox keeps what was not acknowledged.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                await runOnce()
                try await Task.sleep(for: .milliseconds(Int64(clamping: configuration.pollMilliseconds)))
            }
        }
    }

    /// One pass over every channel: deliver what is due, heartbeat, catch up.
    public func runOnce() async {
        let channels: [ChannelRecord]
        do { channels = try site.channels() } catch {
            logger.error("cannot read channels", metadata: ["error": "\(error)"])
            return
        }
        // A diverged channel keeps delivering what it can: the alarm is in status, health and metrics.
        for channel in channels {
            await withTaskGroup(of: Void.self) { group in
                for target in (try? site.deliveryTargets(channel: channel)) ?? [] {
                    group.addTask { await deliver(channel: channel, to: target) }
                }
            }
            await catchUp(channel: channel)
        }
    }

    var backoff: Backoff { Backoff(baseMilliseconds: configuration.backoffBaseMilliseconds, capMilliseconds: configuration.backoffCapMilliseconds) }

    func signer(for channel: ChannelRecord) throws -> RequestSigner {
        let url = try site.identity().url
        return RequestSigner(keys: try site.channelKeys(channel), idURL: "\(url)/channel/\(channel.nickname)", random: site.random)
    }

    // MARK: Delivery

    enum Attempt { case acked, refused(String), unreachable(String), fork(String, origin: String, seq: UInt64), unknown(String) }

    /// Sends queued entries (or a heartbeat) to one location while it keeps acknowledging.
    func deliver(channel: ChannelRecord, to target: DeliveryTarget) async {
        let now = site.clock.nowMilliseconds()
        guard target.peer.nextAttempt <= now else { return }
        let key = "\(channel.rowID)|\(target.location.siteID.text)"
        let heartbeatDue = heartbeats.due(key, now: now, every: configuration.heartbeatMilliseconds)
        guard target.queued > 0 || heartbeatDue else { return }
        var remaining = target.queued
        for _ in 0..<64 {  // bounded: the next pass continues
            let packet: OutboundPacket
            let body: [UInt8]
            do {
                packet = try site.nextPacket(channel: channel.nickname, to: target.location, maxEntries: configuration.packetEntries,
                                             maxBytes: configuration.packetBytes)
                body = Array(try WireJSON.encode(packet.envelope).utf8)
            } catch {
                logger.error("cannot build a packet", metadata: ["channel": "\(channel.nickname)", "error": "\(error)"])
                return
            }
            let result = await post(body, channel: channel, urls: target.urls)
            do {
                switch result {
                case .acked:
                    metrics.packetOut(status: packet.positions.isEmpty ? "heartbeat" : "acked")
                    try site.acknowledged(channel: channel, siteID: target.location.siteID, positions: packet.positions)
                    heartbeats.sent(key, now: site.clock.nowMilliseconds())
                    remaining -= packet.positions.count
                    if target.peer.offline {
                        logger.info("location is back online", metadata: ["channel": "\(channel.nickname)", "location": "\(target.location.url)"])
                    }
                    if remaining <= 0 || packet.positions.isEmpty { return }
                case .fork(let reason, let origin, let seq):
                    metrics.packetOut(status: "refused")
                    if let healed = try site.forkAnswered(nickname: channel.nickname, origin: origin, seq: seq) {
                        NodeEvents.log(healed, channel: channel.nickname, because: reason, logger: logger)
                        return  // the healed outbox goes out on the next pass
                    }
                    _ = try site.deliveryFailed(channel: channel, siteID: target.location.siteID, reason: reason, unreachable: false,
                                                backoff: backoff)
                    return
                case .unknown(let reason):
                    // The clone does not know this site: introduce it with the next packet.
                    metrics.packetOut(status: "refused")
                    try site.introduce(nickname: channel.nickname, to: target.location.siteID)
                    _ = try site.deliveryFailed(channel: channel, siteID: target.location.siteID, reason: reason, unreachable: false,
                                                backoff: backoff)
                    return
                case .refused(let reason), .unreachable(let reason):
                    let unreachable = if case .unreachable = result { true } else { false }
                    metrics.packetOut(status: unreachable ? "unreachable" : "refused")
                    let next = try site.deliveryFailed(channel: channel, siteID: target.location.siteID, reason: reason,
                                                       unreachable: unreachable, backoff: backoff)
                    heartbeats.sent(key, now: site.clock.nowMilliseconds())
                    logger.notice("delivery failed; will retry", metadata: [
                        "channel": "\(channel.nickname)", "location": "\(target.location.url)", "reason": "\(reason.prefix(300))",
                        "retry_in_ms": "\(next > now ? next - now : 0)",
                    ])
                    return
                }
            } catch {
                logger.error("cannot record a delivery", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Posts to the main URL, then each fallback, until one answers. Only a 2xx answer with
    /// `success:true` is an acknowledgement; 5xx and no answer try the next URL.
    func post(_ body: [UInt8], channel: ChannelRecord, urls: [String]) async -> Attempt {
        var lastReason = "no URL"
        var answered = false
        let signer: RequestSigner
        do { signer = try self.signer(for: channel) } catch { return .refused("cannot open the channel key: \(error)") }
        for base in urls {
            do {
                let request = try signer.post(url: "\(base)/zot", body: body, now: site.clock.nowMilliseconds())
                let response = try await transport.send(request)
                answered = true
                if (200..<300).contains(response.status),
                   let answer = try? WireJSON.decode(DeliveryAnswer.self, from: response.body, what: "delivery answer"), answer.success {
                    return .acked
                }
                let refusal = try? WireJSON.decode(ErrorBody.self, from: response.body, what: "error body")
                lastReason = "\(base) answered \(response.status): \(refusal?.message ?? String(decoding: response.body.prefix(200), as: UTF8.self))"
                if response.status == 409, let refusal, refusal.code == "fork", let origin = refusal.origin, let seq = refusal.seq {
                    return .fork(lastReason, origin: origin, seq: seq)
                }
                if response.status == 403, refusal?.code == "unknown-location" { return .unknown(lastReason) }
                if response.status < 500 && response.status >= 400 { return .refused(lastReason) }
            } catch {
                lastReason = "\(error)"
            }
        }
        return answered ? .refused(lastReason) : .unreachable(lastReason)
    }

    // MARK: Catch-up

    /// Pulls what other clones reported and we lack, page by page, from the first clone that has
    /// it. A clone whose pull fails (no answer at any of its URLs, a refusal, or an empty page where
    /// it reported entries) backs off exactly as a failed delivery does.
    func catchUp(channel: ChannelRecord) async {
        guard let needs = try? site.catchUpNeeds(channel: channel.nickname), !needs.isEmpty else { return }
        var failed = Set<SiteID>()
        for need in needs {
            var after = need.after
            sources: for source in need.sources where !failed.contains(source.siteID) {
                for _ in 0..<200 {  // bounded per pass
                    guard after < need.through else { break sources }
                    do {
                        let page = try await pull(channel: channel, from: source, origin: need.origin, after: after)
                        guard let last = page.entries.last else {
                            throw TransportError(url: source.url, reason: "it has no entries of \(need.origin.text) after seq \(after)")
                        }
                        let fresh = (try? site.channel(nickname: channel.nickname)) ?? channel
                        let report = try site.applyPage(page, channel: fresh)
                        metrics.entriesApplied(report.applied)
                        metrics.entriesPulled(page.entries.count)
                        after = last.seq
                        if !page.more { break sources }
                    } catch {
                        failed.insert(source.siteID)
                        let unreachable = (error as? PullFailure)?.unreachable ?? false
                        let next = (try? site.deliveryFailed(channel: channel, siteID: source.siteID, reason: "pull: \(error)",
                                                             unreachable: unreachable, backoff: backoff)) ?? 0
                        let now = site.clock.nowMilliseconds()
                        logger.notice("catch-up pull failed; will retry", metadata: [
                            "channel": "\(channel.nickname)", "from": "\(source.url)", "origin": "\(need.origin.text)",
                            "error": "\(String(describing: error).prefix(300))", "retry_in_ms": "\(next > now ? next - now : 0)",
                        ])
                        continue sources
                    }
                }
            }
        }
    }

    /// No URL of a clone answered a pull.
    struct PullFailure: Error, CustomStringConvertible {
        var unreachable: Bool
        var description: String
    }

    /// Fetches one page from `source`: its main URL, then its fallbacks, until one answers.
    func pull(channel: ChannelRecord, from source: Location, origin: OriginID, after: UInt64) async throws -> SyncPage {
        var reasons: [String] = []
        for base in source.baseURLs {
            let url = "\(base)/sync/\(channel.portableID.text)/entries?origin=\(origin.text)&after=\(after)&limit=\(configuration.packetEntries)"
            let response: InboundResponse
            do {
                response = try await transport.send(try signer(for: channel).get(url: url, now: site.clock.nowMilliseconds()))
            } catch {
                reasons.append("\(error)")
                continue
            }
            guard response.status == 200 else {
                let message = (try? WireJSON.decode(ErrorBody.self, from: response.body, what: "error body"))?.message ?? ""
                if response.status >= 500 { reasons.append("\(base) answered \(response.status) \(message)"); continue }
                throw PullFailure(unreachable: false, description: "\(base) answered \(response.status) \(message)")
            }
            let answer = try WireJSON.decode(SealedPage.self, from: response.body, what: "sync page", maxDepth: site.limits.maxJSONDepth)
            return try site.openPage(answer, channel: channel, server: source, origin: origin, after: after)
        }
        throw PullFailure(unreachable: true, description: reasons.joined(separator: "; "))
    }
}

/// When each location last got a packet from us, so heartbeats go out only when due.
final class HeartbeatClock: Sendable {
    private let last = Mutex<[String: UInt64]>([:])

    func due(_ key: String, now: UInt64, every interval: UInt64) -> Bool {
        last.withLock { table in
            guard let previous = table[key] else { return true }
            return now >= previous + interval
        }
    }

    func sent(_ key: String, now: UInt64) { last.withLock { $0[key] = now } }
}
