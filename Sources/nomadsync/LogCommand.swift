import ArgumentParser
import Foundation
import NomadEngine
import NomadModel

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Read and replay a channel's change log.", subcommands: [Show.self, Apply.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries as JSON lines, exactly as on the wire.",
            discussion: "Example: nomadsync log show alice --after sCK7zpWYIyKe9ck9cxz7ow:10")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(parsing: .unconditional, help: ArgumentHelp("Only one origin's entries after a seq.", valueName: "origin:seq")) var after: String?

        func run() throws {
            var origin: OriginID?
            var seq: UInt64 = 0
            if let after {
                let parts = after.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let n = UInt64(parts[1]), let o = try? OriginID(validating: String(parts[0])) else {
                    throw ValidationError("--after takes ORIGIN:SEQ, e.g. 3q2-7wF0mZ4xYbVn9kQj1A:42")
                }
                origin = o
                seq = n
            }
            // Page by page: a log of any length is printed with one page in memory.
            try options.site().forEachLogPage(nickname: nick, origin: origin, after: seq) { page in
                var lines: [UInt8] = []
                for entry in page { lines += entry.wireJSON + [UInt8(ascii: "\n")] }
                FileHandle.standardOutput.write(Data(lines))
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a file of entries (JSON lines, any order, duplicates allowed) through the replay engine.",
            discussion: "A bad entry refuses the whole file, names the entry and leaves the store unchanged.\n\nExample: nomadsync log show alice --data /backup/a > a.jsonl && nomadsync log apply alice a.jsonl")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Argument var file: String
        @Flag(help: "Print the report as JSON.") var json = false

        func run() throws {
            // Streamed: 500 entries at a time from the file, all in one transaction.
            var reader = try JSONLinesReader<ChangeEntry>(path: file, what: "entry")
            let site = try options.site()
            let report = try site.replay(nickname: nick) { try reader.next(500) }
            if json {
                try Output.json(report)
            } else {
                print(report.summary)
                if !report.missing.isEmpty { print("missing: \(report.missing.map(\.description).joined(separator: " "))") }
                print("digest: \(report.digest)")
            }
        }
    }
}
