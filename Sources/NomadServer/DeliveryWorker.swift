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

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await runOnce()
            try? await Task.sleep(for: .milliseconds(Int64(configuration.pollMilliseconds)))
        }
    }

    /// One pass over every channel: deliver what is due, heartbeat, catch up.
    public func runOnce() async {
        let channels: [ChannelRecord]
        do { channels = try site.channels() } catch {
            logger.error("cannot read channels", metadata: ["error": "\(error)"])
            return
        }
        for channel in channels where channel.diverged == nil {
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

    enum Attempt { case acked, refused(String), unreachable(String) }

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
                let message = (try? WireJSON.decode(ErrorBody.self, from: response.body, what: "error body"))?.message
                lastReason = "\(base) answered \(response.status): \(message ?? String(decoding: response.body.prefix(200), as: UTF8.self))"
                if response.status < 500 && response.status >= 400 { return .refused(lastReason) }
            } catch {
                lastReason = "\(error)"
            }
        }
        return answered ? .refused(lastReason) : .unreachable(lastReason)
    }

    // MARK: Catch-up

    /// Pulls what other clones reported and we lack, page by page, from the first clone that has it.
    func catchUp(channel: ChannelRecord) async {
        guard let needs = try? site.catchUpNeeds(channel: channel.nickname), !needs.isEmpty else { return }
        for need in needs {
            var after = need.after
            sources: for source in need.sources {
                for _ in 0..<200 {  // bounded per pass
                    guard after < need.through else { break sources }
                    do {
                        let page = try await pull(channel: channel, from: source, origin: need.origin, after: after)
                        guard let last = page.entries.last else { continue sources }
                        let fresh = (try? site.channel(nickname: channel.nickname)) ?? channel
                        let report = try site.applyPage(page, channel: fresh)
                        metrics.entriesApplied(report.applied)
                        metrics.entriesPulled(page.entries.count)
                        after = last.seq
                        if !page.more { break sources }
                    } catch {
                        logger.notice("catch-up pull failed", metadata: [
                            "channel": "\(channel.nickname)", "from": "\(source.url)", "origin": "\(need.origin.text)", "error": "\(error)",
                        ])
                        continue sources
                    }
                }
            }
        }
    }

    func pull(channel: ChannelRecord, from source: Location, origin: OriginID, after: UInt64) async throws -> SyncPage {
        let url = "\(source.url)/sync/\(channel.portableID.text)/entries?origin=\(origin.text)&after=\(after)&limit=\(configuration.packetEntries)"
        let request = try signer(for: channel).get(url: url, now: site.clock.nowMilliseconds())
        let response = try await transport.send(request)
        guard response.status == 200 else {
            let message = (try? WireJSON.decode(ErrorBody.self, from: response.body, what: "error body"))?.message ?? ""
            throw TransportError(url: url, reason: "answered \(response.status) \(message)")
        }
        let answer = try WireJSON.decode(SealedPage.self, from: response.body, what: "sync page", maxDepth: site.limits.maxJSONDepth)
        return try site.openPage(answer, channel: channel, server: source, origin: origin, after: after)
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
