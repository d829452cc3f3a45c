import Foundation
import Logging
import NomadEngine
import ServiceLifecycle
import Synchronization

/// Each location's lag over the last samples, kept in memory for the status page's chart: a
/// sample every `interval` (10 s by default), the last `capacity` of them (30 minutes). A
/// restart starts the chart afresh; the figures themselves come from the store each time.
public final class LagHistory: Sendable {
    public struct Sample: Sendable, Equatable {
        /// Milliseconds since the Unix epoch.
        public var time: UInt64
        /// Lag in entries, by location URL.
        public var lag: [String: UInt64]
    }

    public let capacity: Int
    private let samples = Mutex<[String: [Sample]]>([:])

    public init(capacity: Int = 180) { self.capacity = max(2, capacity) }

    /// Records one status as a sample of its channel.
    public func record(_ status: SyncStatus, at time: UInt64) {
        let lag = Dictionary(status.locations.filter { !$0.isSelf }.map { ($0.url, $0.lagEntries) }, uniquingKeysWith: max)
        samples.withLock { all in
            var list = all[status.nickname] ?? []
            list.append(Sample(time: time, lag: lag))
            if list.count > capacity { list.removeFirst(list.count - capacity) }
            all[status.nickname] = list
        }
    }

    public func samples(of nickname: String) -> [Sample] { samples.withLock { $0[nickname] ?? [] } }
}

/// The service that samples every hosted channel's status into a `LagHistory`.
struct LagSampler: Service {
    let site: Site
    let history: LagHistory
    let interval: Duration
    let logger: Logger

    /// Samples every `interval`. When nothing committed to the store since the last sample
    /// (`Site.changeMarker`), the statuses are those of the last sample and are recorded again
    /// without reading them: an idle node with 1,000 channels does not compute 1,000 statuses
    /// every 10 s.
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var last: (marker: Int64, statuses: [SyncStatus])?
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let now = site.clock.nowMilliseconds()
                do {
                    let marker = try site.changeMarker()
                    let statuses: [SyncStatus]
                    if let last, let marker, last.marker == marker {
                        statuses = last.statuses
                    } else {
                        statuses = try site.channels().map { try site.syncStatus(nickname: $0.nickname) }
                        last = marker.map { ($0, statuses) }
                    }
                    for status in statuses { history.record(status, at: now) }
                } catch {
                    logger.debug("status sample skipped", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
