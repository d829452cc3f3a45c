import Foundation
import Logging
import NomadCrypto
import NomadEngine
import NomadModel
import NomadTransport
import ServiceLifecycle
import Synchronization

/// Carries out what the engine's `DeliveryPlanner` plans (DESIGN §5): packets and heartbeats to
/// every other location, pulls of missing entries from any live clone, all through one
/// `SyncClient`, each answer handed back to the planner. It polls the store, so changes written
/// by the CLI while the node runs leave within one poll interval; changes appended through the
/// admin API wake it at once (`DeliveryWake`).
///
/// One pass (`runOnce`) is also what tests drive directly, with a scripted transport.
public struct DeliveryWorker: Service {
    public let site: Site
    public let planner: DeliveryPlanner
    public let client: SyncClient
    public let configuration: NodeConfiguration
    public let metrics: NodeMetrics
    public let logger: Logger
    /// Ends the wait between passes early when a change was appended in this process.
    public let wake: DeliveryWake
    let messages: MessageDelivery
    let blobs: BlobFetcher
    let webhooks: WebhookDelivery

    public init(site: Site, transport: any HTTPTransport, configuration: NodeConfiguration, metrics: NodeMetrics, logger: Logger,
                wake: DeliveryWake = DeliveryWake()) {
        self.wake = wake
        self.site = site
        planner = DeliveryPlanner(site: site, policy: configuration.deliveryPolicy)
        client = SyncClient(transport: transport, random: site.random, maxDepth: site.limits.maxJSONDepth)
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        webhooks = WebhookDelivery(site: site, transport: transport, backoff: configuration.deliveryPolicy.backoff, logger: logger)
        blobs = BlobFetcher(site: site, transport: transport, backoff: configuration.deliveryPolicy.backoff, logger: logger)
        messages = MessageDelivery(site: site, client: client, discovery: DiscoveryClient(transport: transport),
                                   backoff: configuration.deliveryPolicy.backoff, metrics: metrics, logger: logger)
    }

    /// Runs passes until the node stops. A graceful shutdown cancels the pass in hand, and with
    /// it any request a hanging peer holds open; the outbox keeps what was not acknowledged.
    ///
    /// An idle node does not plan every channel at every poll: a pass runs when something a plan
    /// depends on committed since the last one (another process, or a commit of this one that
    /// was not quiet: `Site.deliveryMarker`; a heartbeat that reported nothing new is), when this
    /// process asked for one (`DeliveryWake`), when the planner's earliest due time (a heartbeat,
    /// a retry) or the next retry of a message, webhook or blob fetch (`Site.nextRetry`) has
    /// come, and at least every `idleRecheckMilliseconds` as a safety net.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var marker: DeliveryMarker?
            var nextDue: UInt64 = 0
            var lastPass: UInt64 = 0
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let now = site.clock.nowMilliseconds()
                let current = try? site.deliveryMarker()
                let asked = wake.takeRequest()
                if current == nil || current != marker || asked || now >= nextDue
                    || now >= lastPass.addingSaturating(configuration.idleRecheckMilliseconds) {
                    marker = current  // read before the pass: what commits during it runs the next one
                    lastPass = now
                    nextDue = await runOnce() ?? now.addingSaturating(configuration.heartbeatMilliseconds)
                    if let retry = try? site.nextRetry() { nextDue = min(nextDue, retry) }
                }
                // More is due at once (the 64 packets a chain sends per pass, another page):
                // go on without the poll's wait, which stalled a catch-up a quarter second
                // every 64 packets.
                if nextDue <= site.clock.nowMilliseconds() {
                    await Task.yield()
                    continue
                }
                await wake.wait(milliseconds: configuration.pollMilliseconds)
            }
        }
    }

    /// One pass: the site heartbeats that are due (one request per other site, docs/PROTOCOL.md
    /// §7.7) while, over every channel, the packets that are due go (in parallel, one chain per
    /// location), then the pulls; then the heartbeats the site heartbeats did not cover. A
    /// diverged channel keeps delivering what it can: the alarm is in status, health and metrics.
    /// Returns the earliest time a planned send falls due if nothing changes (nil: none planned).
    @discardableResult
    public func runOnce() async -> UInt64? {
        metrics.deliveryPass()
        let channels: [HostedChannel]
        do { channels = try site.channels() } catch {
            logger.error("cannot read channels", metadata: ["error": "\(error)"])
            return nil
        }
        // Site heartbeats go beside the channels' packets, not before them: a change never waits
        // for another site's heartbeat answer, not even one appended while they are out. A
        // channel's empty `sync` is only for what they did not cover as of this moment
        // (DeliveryPlanner.plan(channel:heartbeatsAsOf:)), so a location due only for a
        // heartbeat waits until they are answered.
        let passStart = site.clock.nowMilliseconds()
        var nextDue: UInt64?
        if let heartbeats = plannedSiteHeartbeats() {
            // The next round falls due one interval after this one was planned (the recorded
            // channels count as delivered to from then): wake for it, not a moment before.
            if let plannedAt = heartbeats.actions.map(\.plannedAt).min() {
                let due = plannedAt.addingSaturating(configuration.heartbeatMilliseconds)
                nextDue = min(nextDue ?? due, due)
            }
            let answered = Flag()
            var waiting: [String: (channel: HostedChannel, sites: Set<SiteID>)] = [:]
            func pass(_ channels: [HostedChannel]) async {
                for (channel, sites) in await deliver(channels, heartbeatsAsOf: passStart, heartbeatsInFlight: true, nextDue: &nextDue) {
                    waiting[channel.nickname, default: (channel, [])].sites.formUnion(sites)
                }
            }
            let covered = await withTaskGroup(of: [SiteID: Set<String>].self) { group in
                group.addTask {
                    let covered = await send(heartbeats.actions, keys: heartbeats.keys)
                    answered.set()
                    wake.nudge()
                    return covered
                }
                await pass(channels)
                while !answered.isSet && !Task.isCancelled {
                    await wake.wait(milliseconds: configuration.pollMilliseconds)  // a change, the answers, or the poll
                    if wake.takeRequest() { await pass((try? site.channels()) ?? channels) }
                }
                return await group.next() ?? [:]
            }
            // The heartbeats the site heartbeats did not cover go now, as an empty `sync` each.
            let uncovered = waiting.values.filter { left in
                left.sites.contains { site in !(covered[site]?.contains(left.channel.nickname) ?? false) }
            }
            _ = await deliver(uncovered.map { $0.channel }, heartbeatsAsOf: passStart, heartbeatsInFlight: false, nextDue: &nextDue)
        } else {
            _ = await deliver(channels, heartbeatsAsOf: passStart, heartbeatsInFlight: false, nextDue: &nextDue)
        }
        await messages.runOnce()
        await webhooks.runOnce()
        return nextDue
    }

    func keys(_ channel: HostedChannel) throws -> SigningKeyPair { try site.channelKeys(channel) }

    /// Delivers each channel in turn (`deliver(_:heartbeatsAsOf:heartbeatsInFlight:nextDue:)`),
    /// then fetches the blobs it misses. Returns the locations each channel left for after the
    /// site heartbeats in flight.
    func deliver(_ channels: [HostedChannel], heartbeatsAsOf: UInt64, heartbeatsInFlight: Bool,
                 nextDue: inout UInt64?) async -> [(HostedChannel, Set<SiteID>)] {
        var left: [(HostedChannel, Set<SiteID>)] = []
        metrics.channelsPlanned(channels.count)
        for channel in channels {
            guard let plan = await deliver(channel, heartbeatsAsOf: heartbeatsAsOf, heartbeatsInFlight: heartbeatsInFlight, nextDue: &nextDue)
            else { continue }
            if !plan.heartbeatsLeft.isEmpty { left.append((channel, Set(plan.heartbeatsLeft))) }
            let (fetched, _) = await blobs.runOnce(channel)
            metrics.blobsFetched(fetched)
        }
        return left
    }

    /// Plans one channel and carries the plan out: its packets (in parallel, one chain per
    /// location), then its pulls. Lowers `nextDue` to when something falls due; nil when the
    /// channel could not be planned (logged).
    func deliver(_ channel: HostedChannel, heartbeatsAsOf: UInt64, heartbeatsInFlight: Bool, nextDue: inout UInt64?) async -> DeliveryPlan? {
        let plan: DeliveryPlan
        do { plan = try planner.plan(channel: channel, heartbeatsAsOf: heartbeatsAsOf, heartbeatsInFlight: heartbeatsInFlight) } catch {
            logger.error("cannot plan delivery", metadata: ["channel": "\(channel.nickname)", "error": "\(error)"])
            nextDue = 0  // try again at the next poll
            return nil
        }
        if let due = plan.wakeAt { nextDue = min(nextDue ?? due, due) }
        let more = await withTaskGroup(of: Bool.self) { group in
            for send in plan.sends { group.addTask { await deliver(send) } }
            return await group.reduce(false) { $0 || $1 }
        }
        // A chain or a pull stopped at its cap with more to go: the next pass follows at once.
        // (What is appended meanwhile wakes the worker; what is received moves the marker.)
        if await catchUp(plan.pulls) || more { nextDue = 0 }
        return plan
    }

    // MARK: Delivery

    /// Sends `first`, then the following packets for the same location while it keeps
    /// acknowledging and entries remain (at most 64 packets: the next pass continues). Up to
    /// `packetsInFlight` go at once: the next packet is built and sent while the receiver
    /// replays the one before, so the two sites work at the same time instead of in turn.
    /// After a failure nothing more is sent in this pass; answers already on their way are
    /// still recorded (an acknowledgement always, only the first failure, so one bad pass
    /// counts once in the backoff).
    /// Returns whether more may be queued for the location: the chain stopped at its cap.
    func deliver(_ first: SendAction) async -> Bool {
        let keys: SigningKeyPair
        do { keys = try self.keys(first.channel) } catch {
            logger.error("cannot open the channel key", metadata: ["channel": "\(first.channel.nickname)", "error": "\(error)"])
            return false
        }
        let client = self.client, clock = site.clock
        return await withTaskGroup(of: (SendAction, PeerAnswer<DeliveryAnswer>).self) { group in
            var inFlight = 0, sent = 0
            var last: SendAction? = first
            var stopped = false
            func launch(_ action: SendAction) {
                group.addTask {
                    (action, await client.post(action.body, to: action.urls, keys: keys, keyURL: action.keyURL, now: { clock.nowMilliseconds() }))
                }
                inFlight += 1
                sent += 1
                last = action
            }
            launch(first)
            while inFlight > 0 {
                if !stopped, inFlight < Self.packetsInFlight, sent < 64, let previous = last {
                    do {
                        if let next = try planner.send(after: previous) {
                            launch(next)
                            continue
                        }
                        last = nil  // nothing more queued: wait for the answers
                    } catch {
                        logger.error("cannot build a packet", metadata: ["channel": "\(previous.channel.nickname)", "error": "\(error)"])
                        stopped = true
                    }
                }
                guard let (action, answer) = await group.next() else { break }
                inFlight -= 1
                if stopped, case .unreachable = answer { continue }
                if stopped, case .refused = answer { continue }
                if !record(answer, of: action) { stopped = true }
            }
            return !stopped && last != nil
        }
    }

    /// Packets sent to one location before the first is answered.
    static let packetsInFlight = 3

    /// Records one answer and logs what it meant; false when delivery to that location should
    /// stop for this pass.
    func record(_ answer: PeerAnswer<DeliveryAnswer>, of action: SendAction) -> Bool {
        let event: SendEvent
        do { event = try planner.record(answer, of: action) } catch {
            logger.error("cannot record a delivery", metadata: ["error": "\(error)"])
            return false
        }
        let metadata: Logger.Metadata = ["channel": "\(action.channel.nickname)", "location": "\(action.location.url)"]
        switch event {
        case .acked(_, _, let wasOffline):
            metrics.packetOut(status: action.isHeartbeat ? "heartbeat" : "acked")
            if wasOffline { logger.info("location is back online", metadata: metadata) }
            return true
        case .healed(let report, let reason):
            metrics.packetOut(status: "refused")
            NodeEvents.log(report, channel: action.channel.nickname, because: reason, logger: logger)
            return false
        case .failed(let reason, let unreachable, let retryAt, _):
            metrics.packetOut(status: unreachable ? "unreachable" : "refused")
            logger.notice("delivery failed; will retry", metadata: metadata.merging([
                "reason": "\(reason.prefix(300))", "retry_in_ms": "\(retryDelay(retryAt))",
            ]) { a, _ in a })
            return false
        }
    }

    // MARK: Catch-up

    /// Runs each pull page by page (at most 200 pages per origin and pass). A clone that fails
    /// is skipped for the rest of the pass. Returns whether a pull stopped at its page cap with
    /// more to fetch.
    func catchUp(_ pulls: [PullAction]) async -> Bool {
        var more = false
        var failed = Set<SiteID>()
        let clock = site.clock
        for pull in pulls {
            var next = pull.skipping(failed)
            var pages = 0
            while let action = next, pages < 200 {
                pages += 1
                let answer: PeerAnswer<SealedPage>
                do {
                    answer = await client.pull(channel: action.channel.portableID, origin: action.origin, after: action.after,
                                               limit: action.limit, from: action.urls, keys: try keys(action.channel),
                                               keyURL: action.keyURL, now: { clock.nowMilliseconds() })
                } catch {
                    logger.error("cannot open the channel key", metadata: ["channel": "\(action.channel.nickname)", "error": "\(error)"])
                    return more
                }
                let step: PullStep
                do { step = try planner.record(answer, of: action) } catch {
                    logger.error("cannot record a pull", metadata: ["error": "\(error)"])
                    return more
                }
                switch step.event {
                case .applied(let report, let pulled):
                    metrics.entriesApplied(report.applied)
                    metrics.entriesPulled(pulled)
                    metrics.entriesReceived(pulled, via: "pull")
                    next = step.next
                case .failed(let source, let reason, _, let retryAt):
                    failed.insert(source.siteID)
                    logger.notice("catch-up pull failed; will retry", metadata: [
                        "channel": "\(action.channel.nickname)", "from": "\(source.url)", "origin": "\(action.origin.text)",
                        "error": "\(reason.prefix(300))", "retry_in_ms": "\(retryDelay(retryAt))",
                    ])
                    next = step.next?.skipping(failed)
                }
            }
            if next != nil { more = true }  // the page cap, not the end
        }
        return more
    }

    func retryDelay(_ retryAt: UInt64) -> UInt64 {
        let now = site.clock.nowMilliseconds()
        return retryAt > now ? retryAt - now : 0
    }
}

extension NodeConfiguration {
    /// The engine's delivery pacing from the node's settings.
    public var deliveryPolicy: DeliveryPolicy {
        DeliveryPolicy(heartbeatMilliseconds: heartbeatMilliseconds,
                       backoff: Backoff(baseMilliseconds: backoffBaseMilliseconds, capMilliseconds: backoffCapMilliseconds),
                       packetEntries: packetEntries, packetBytes: packetBytes)
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
