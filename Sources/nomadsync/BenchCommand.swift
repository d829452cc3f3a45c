import ArgumentParser
import Foundation
import NomadBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the hot paths beside raw references run in the same process, as ratios.",
        discussion: """
            Three sites in a temporary folder (real SQLite files) clone one channel: A appends N changes, B replays \
            them from wire JSON; the raw reference runs the same SQL for the same rows through SQLite's C API. Packets \
            of 500 entries are sealed, signed, verified and opened; the raw reference runs the same libsodium \
            primitives on the same byte counts. A channel of 100,000 entries is exported and imported, beside local \
            replay of the same entries. Real nodes (this executable's serve) time a change posted on A until B and C \
            committed it, beside a bare HTTP round trip; count heartbeat requests between three idle sites sharing 1 \
            and 100 channels; time a catch-up of 100,000 entries after a restart, beside local replay; and an idle \
            node with 1 and 1,000 channels is measured for CPU and memory. Build with -c release for figures worth \
            comparing (docs/PERFORMANCE.md). It fails only if something breaks, never on a time.

            Examples:
              nomadsync bench --quick
              nomadsync bench --only heartbeats,idle
              .build/release/nomadsync bench --json > bench.json
            """)

    @Flag(help: "A short run (2,000 entries, 20 packets, a catch-up and an export of 2,000, idle nodes of 1 and 20 channels for 2 s, memory at 1,000 and 10,000 entries), as CI does.") var quick = false
    @Flag(help: "Print the report as JSON instead of a table.") var json = false
    @Option(help: "Entries to append and replay (default 50,000; 2,000 with --quick).") var entries: Int?
    @Option(help: ArgumentHelp("Measure only these parts, comma-separated: \(Bench.Part.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "parts"))
    var only: String?

    func validate() throws {
        if let entries, !(100...2_000_000).contains(entries) { throw ValidationError("--entries must be between 100 and 2000000") }
        _ = try parts()
    }

    func parts() throws -> Set<Bench.Part> {
        guard let only else { return Set(Bench.Part.allCases) }
        return Set(try only.split(separator: ",").map { name in
            guard let part = Bench.Part(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--only: unknown part '\(name)'; the parts are \(Bench.Part.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return part
        })
    }

    func run() async throws {
        // The idle measurement serves with this very executable.
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let path = FileManager.default.isExecutableFile(atPath: executable) ? executable : Bundle.main.executablePath
        var bench = Bench(quick: quick, entries: entries, executable: path)
        bench.parts = try parts()
        let report = try await bench.run { Output.message($0) }
        if json { try Output.json(report, pretty: true) } else { print(report.table) }
    }
}
