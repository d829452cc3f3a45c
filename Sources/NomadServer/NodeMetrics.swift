import Metrics
import NomadEngine
import Prometheus
import Synchronization

/// The node's metrics, kept in its own Prometheus registry (no process-global state), and
/// written as Prometheus text at `GET /metrics`:
/// - `nomadsync_packets_in_total{status}` and `nomadsync_packets_out_total{status}`
/// - `nomadsync_site_heartbeats_in_total{status}` and `nomadsync_site_heartbeats_out_total{status}`
/// - `nomadsync_entries_applied_total`
/// - `nomadsync_outbox_depth{channel,location}` and `nomadsync_location_lag_entries{channel,location}`,
///   set from the store on every scrape;
/// - `nomadsync_channel_diverged{channel}`: 1 while the channel's `diverged` alarm is raised.
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: Metrics.Counter]>([:])
    private let gauges = Mutex<[String: Metrics.Gauge]>([:])

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The metric for `name` and `dimensions`, made on first use and kept.
    private static func cached<M>(_ table: borrowing Mutex<[String: M]>, _ name: String, _ dimensions: [(String, String)],
                                  make: () -> M) -> M {
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return table.withLock { entries in
            if let found = entries[key] { return found }
            let made = make()
            entries[key] = made
            return made
        }
    }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Metrics.Counter {
        Self.cached(counters, name, dimensions) { Metrics.Counter(label: name, dimensions: dimensions, factory: factory) }
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)]) -> Metrics.Gauge {
        Self.cached(gauges, name, dimensions) { Metrics.Gauge(label: name, dimensions: dimensions, factory: factory) }
    }

    public func packetIn(status: Int) { counter("nomadsync_packets_in_total", [("status", String(status))]).increment() }
    public func packetOut(status: String) { counter("nomadsync_packets_out_total", [("status", status)]).increment() }
    /// Site heartbeats received, by the status answered.
    public func siteHeartbeatIn(status: Int) { counter("nomadsync_site_heartbeats_in_total", [("status", String(status))]).increment() }
    /// Site heartbeats sent, by outcome: `answered`, `refused`, `unreachable`.
    public func siteHeartbeatOut(status: String) { counter("nomadsync_site_heartbeats_out_total", [("status", status)]).increment() }
    public func entriesApplied(_ n: Int) { if n > 0 { counter("nomadsync_entries_applied_total", []).increment(by: n) } }
    public func messageIn(type: String) { counter("nomadsync_messages_in_total", [("type", type)]).increment() }
    public func messageOut(type: String, status: String) {
        counter("nomadsync_messages_out_total", [("type", type), ("status", status)]).increment()
    }
    /// Delivery passes run, and the channels they planned: on an idle node, how much of its
    /// CPU goes to looking for work (a pass plans every channel).
    public func deliveryPass() { counter("nomadsync_delivery_passes_total", []).increment() }
    public func channelsPlanned(_ n: Int) { if n > 0 { counter("nomadsync_delivery_channels_planned_total", []).increment(by: n) } }
    public func blobsFetched(_ n: Int) { if n > 0 { counter("nomadsync_blobs_fetched_total", []).increment(by: n) } }
    public func entriesPulled(_ n: Int) { if n > 0 { counter("nomadsync_entries_pulled_total", []).increment(by: n) } }
    /// Every entry that came in, duplicates included, by `via` (`push`, `pull`): against
    /// `entries_applied_total` it shows whether entries travel more than once.
    public func entriesReceived(_ n: Int, via: String) {
        if n > 0 { counter("nomadsync_entries_received_total", [("via", via)]).increment(by: n) }
    }

    /// Sets the per-location gauges from the current status of every channel, then renders.
    public func render(statuses: [SyncStatus], webhooks: [Webhook] = []) -> String {
        for hook in webhooks { gauge("nomadsync_webhook_backlog", [("webhook", String(hook.id))]).record(hook.backlog) }
        for status in statuses {
            for loc in status.locations where !loc.isSelf {
                let dims = [("channel", status.nickname), ("location", loc.url)]
                gauge("nomadsync_outbox_depth", dims).record(loc.outbox)
                gauge("nomadsync_location_lag_entries", dims).record(Int64(clamping: loc.lagEntries))
                gauge("nomadsync_location_online", dims).record(loc.state == .offline ? 0 : 1)
            }
            gauge("nomadsync_held_entries", [("channel", status.nickname)]).record(status.held)
            gauge("nomadsync_blobs_missing", [("channel", status.nickname)]).record(status.missingBlobs)
            gauge("nomadsync_messages_queued", [("channel", status.nickname)]).record(status.messages)
            gauge("nomadsync_channel_diverged", [("channel", status.nickname)]).record(status.diverged == nil ? 0 : 1)
        }
        return registry.emitToString()
    }
}
