import Foundation

/// `nomadsync bench`: nomadsync's hot paths beside raw references measured in the same run, as
/// ratios (docs/PERFORMANCE.md). It measures; it never fails on a time.
///
/// ```swift
/// let report = try await Bench(quick: true).run()
/// print(report.table)
/// ```
public struct Bench: Sendable {
    /// The measurements a run can be limited to (`nomadsync bench --only heartbeats,idle`).
    public enum Part: String, CaseIterable, Sendable {
        case ledger, packets, export, propagation, heartbeats, catchup, idle, memory
    }

    /// The parts measured (all by default).
    public var parts: Set<Part> = Set(Part.allCases)
    /// Entries appended and replayed.
    public var entries: Int
    /// Packets sealed and opened.
    public var packets: Int
    /// Where the temporary sites live (removed afterwards).
    public var folder: String
    /// The nomadsync executable whose `serve` the idle measurement runs; nil skips it.
    public var executable: String?
    /// Channel counts of the idle measurement, and seconds measured for each.
    public var idleChannels: [Int]
    public var idleSeconds: Double
    /// Changes timed from A to B and C.
    public var propagationChanges: Int
    /// Shared channel counts of the heartbeat measurement.
    public var heartbeatChannels: [Int]
    /// Entries B lacks when it restarts, in the catch-up measurement, and entries exported.
    public var catchUpEntries: Int
    /// Log lengths whose peak memory the memory measurement compares (short, long).
    public var memoryEntries: (small: Int, large: Int)

    public init(quick: Bool, entries: Int? = nil, executable: String? = nil, folder: String = NSTemporaryDirectory()) {
        self.entries = entries ?? (quick ? 2_000 : 50_000)
        packets = quick ? 20 : 200
        self.executable = executable
        idleChannels = quick ? [1, 20] : [1, 1_000]
        idleSeconds = quick ? 2 : 10
        propagationChanges = quick ? 20 : 500
        heartbeatChannels = quick ? [1, 5] : [1, 100]
        catchUpEntries = quick ? 2_000 : 100_000
        memoryEntries = quick ? (1_000, 10_000) : (10_000, 1_000_000)
        self.folder = folder
    }

    public func run(progress: (String) -> Void = { _ in }) async throws -> BenchReport {
        let work = (folder as NSString).appendingPathComponent("nomadsync-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var rows: [BenchRow] = []
        if parts.contains(.ledger) {
            progress("append and replay of \(entries) entries…")
            rows += try LedgerBench(entries: entries, folder: work).run()
        }
        if parts.contains(.packets) {
            progress("sealing and opening \(packets) packets of 500 entries…")
            rows += try PacketBench(entries: 500, rounds: packets).run()
        }
        if parts.contains(.export) {
            progress("export and import of \(catchUpEntries) entries…")
            rows += try ExportBench(entries: catchUpEntries, folder: work).run()
        }
        if let executable {
            if parts.contains(.propagation) {
                progress("three sites on loopback, \(propagationChanges) changes…")
                rows += try await PropagationBench(executable: executable, changes: propagationChanges, folder: work).run()
            }
            if parts.contains(.heartbeats) {
                progress("heartbeats between three idle sites sharing \(heartbeatChannels.map(String.init).joined(separator: " and ")) channels…")
                rows += try await HeartbeatBench(executable: executable, channelCounts: heartbeatChannels, heartbeatSeconds: 1,
                                                 windowSeconds: idleSeconds, folder: work).run()
            }
            if parts.contains(.catchup) {
                progress("catch-up of \(catchUpEntries) entries after a restart…")
                rows += try await CatchUpBench(executable: executable, entries: catchUpEntries, folder: work).run()
            }
            if parts.contains(.memory) {
                progress("peak memory of log show, log apply, export and import: \(memoryEntries.small) and \(memoryEntries.large) entries…")
                rows += try MemoryBench(executable: executable, small: memoryEntries.small, large: memoryEntries.large, folder: work).run()
            }
            for count in idleChannels where parts.contains(.idle) {
                progress("an idle node with \(count) channel(s), \(Int(idleSeconds)) s…")
                rows += try IdleBench(executable: executable, channels: count, seconds: idleSeconds, folder: work).run()
            }
        }
        return BenchReport(date: Date().formatted(.iso8601), machine: Self.machine(), build: Self.build, rows: rows)
    }

    #if DEBUG
    static let build = "debug"
    #else
    static let build = "release"
    #endif

    /// CPU model and core count, from /proc/cpuinfo where there is one.
    static func machine() -> String {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return "\(model), \(cores) cores, \(memory) GiB"
    }
}
