import Foundation
import Testing
@testable import NomadBench

/// The bench's own checks, not its times: the raw reference must do the same work.
struct BenchTests {
    @Test func theRawReferenceLeavesTheSameRowsAndEveryRowHasARatio() async throws {
        var bench = Bench(quick: true, entries: 300)
        bench.packets = 2
        bench.catchUpEntries = 300
        let report = try await bench.run()
        #expect(report.rows.count == 6)  // append, replay, seal, open, export, import
        for row in report.rows {
            #expect(row.ours > 0 && (row.raw ?? 0) > 0, "\(row.name)")
        }
        #expect(report.table.contains("replay"))
    }

    @Test func onlyTheChosenPartsAreMeasured() async throws {
        var bench = Bench(quick: true, entries: 300)
        bench.packets = 2
        bench.parts = [.packets]
        let report = try await bench.run()
        #expect(!report.rows.isEmpty)
        #expect(report.rows.allSatisfy { $0.name.contains("seal") || $0.name.contains("open") }, "\(report.rows.map(\.name))")
    }

    @Test func aReportRoundTripsThroughJSON() throws {
        let row = BenchRow(name: "x", unit: "entries/s", count: 1, ours: 2, raw: 4, reference: "r")
        let report = BenchReport(date: "d", machine: "m", build: "debug", rows: [row])
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(BenchReport.self, from: data) == report)
        #expect(String(decoding: data, as: UTF8.self).contains(#""ratio":0.5"#))
    }

    /// A port found free with bind(0) is in the kernel's ephemeral range, where an outgoing
    /// connection can take it before the node binds it.
    @Test func nodePortsAreDistinctAndBelowTheEphemeralRange() throws {
        let ports = try (0..<50).map { _ in try LoopbackCluster.freePort() }
        #expect(ports.allSatisfy { $0 >= 1_024 && $0 < 32_768 })
        #expect(Set(ports).count == ports.count)
    }
}
