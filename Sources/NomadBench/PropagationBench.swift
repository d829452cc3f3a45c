import Foundation
import NomadCrypto
import NomadEngine
import NomadTransport

/// Three-site propagation on loopback against the HTTP round trip: three real `serve` processes
/// clone one channel; a change posted to A's admin API is timed until B and C have committed it
/// (read from their database files each time their write-ahead logs are written: `WALWatch`).
/// The reference is a bare request to B's `/health`, timed the same way, in the same run.
/// The first changes (`warmUpChanges`) are posted and awaited but not timed: they open the
/// connections between the sites, which a running node keeps.
struct PropagationBench {
    let executable: String
    let changes: Int
    let folder: String

    func run() async throws -> [BenchRow] {
        let cluster = try await LoopbackCluster.start(executable: executable, folder: folder, prefix: "prop", channels: 1, heartbeatSeconds: 30)
        defer { cluster.stop() }
        let nodes = cluster.nodes, http = cluster.http
        // Let the first heartbeats settle.
        try await Task.sleep(for: .seconds(1))

        // Reference: a bare request to a running node.
        var roundTrips: [Double] = []
        for _ in 0..<max(50, changes * 4) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await http.send(OutboundRequest(method: "GET", url: "\(nodes[1].url)/health"))
            roundTrips.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }

        let token = try nodes[0].token
        let readers = try nodes.dropFirst().map { try RawSQLite(path: "\($0.directory)/nomadsync.sqlite") }
        // A write to B's or C's log wakes the check at once; without inotify it polls.
        let watch = WALWatch(paths: nodes.dropFirst().map { "\($0.directory)/nomadsync.sqlite-wal" })
        // Posts change `index` and returns how long it took to reach B and to reach C.
        func propagate(_ index: Int) async throws -> [Double] {
            let body = Array(#"[{"entity":"item","key":"p-\#(index)","op":"put","body":"{\"n\":\#(index)}"}]"#.utf8)
            let request = OutboundRequest(method: "POST", url: "\(nodes[0].adminURL)/api/v1/channels/ch0/changes",
                                          headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: body)
            let start = DispatchTime.now().uptimeNanoseconds
            let answer = try await http.send(request)
            guard answer.status == 200 else { throw BenchError("posting a change answered \(answer.status)") }
            var times: [Double] = []
            var pending = Set(readers.indices)
            let deadline = start + 10_000_000_000
            var woken = false
            while !pending.isEmpty {
                for i in pending {
                    if try readers[i].run("SELECT 1 FROM state WHERE entity = 'item' AND key = ?", ["p-\(index)"]) > 0 {
                        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                        pending.remove(i)
                    }
                }
                guard DispatchTime.now().uptimeNanoseconds < deadline else { throw BenchError("change \(index) did not reach every clone in 10 s") }
                guard !pending.isEmpty else { break }
                if let watch {
                    // Woken by a write and the commit not visible yet: it is microseconds away,
                    // look again shortly. Otherwise wait for the next write (1 ms at most).
                    woken = watch.wait(microseconds: woken ? 100 : 1_000)
                } else {
                    try await Task.sleep(for: .microseconds(200))
                }
            }
            return times
        }
        // Warm-up, not timed: the first changes open the sites' connections to each other and
        // run every step for the first time (the first took 9 ms, the next two about 7).
        let warmUp = Self.warmUpChanges(for: changes)
        for index in 0..<warmUp { _ = try await propagate(index) }
        var latencies: [Double] = []
        for index in warmUp..<(warmUp + changes) { latencies += try await propagate(index) }
        let rtt = Self.percentile(roundTrips, 0.5)
        let p50 = Self.percentile(latencies, 0.5), p99 = Self.percentile(latencies, 0.99)
        return [
            BenchRow(name: "3-site propagation p50 (admin POST on A → committed on B and C)", unit: "ms", count: latencies.count, ours: p50,
                     raw: rtt, reference: "HTTP round trip p50 (GET /health)"),
            BenchRow(name: "3-site propagation p99", unit: "ms", count: latencies.count, ours: p99, raw: 5 + 3 * rtt,
                     reference: "target: 5 ms + 3 × round trip"),
        ]
    }

    /// Changes posted and awaited before the timed ones: a tenth as many, at most 20.
    static func warmUpChanges(for changes: Int) -> Int { min(20, changes / 10) }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}
