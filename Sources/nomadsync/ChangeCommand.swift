import ArgumentParser
import Foundation
import NomadEngine
import NomadModel

struct ChangeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change", abstract: "Make local changes to a channel's documents.",
        subcommands: [Put.self, Delete.self, Apply.self])

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a document. Prints the new entry.",
            discussion: """
                Example: nomadsync change put alice item note-1 --body '{"content":"hello"}'

                A key that begins with '-' (a portable_id can) goes after '--', options first:
                  nomadsync change put alice connection --body '{"url":"…"}' -- -B60WbCaX…
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Argument var entity: String
        @Argument var key: String
        @Option(parsing: .unconditional, help: "The document as JSON text.") var body: String

        func run() throws {
            for entry in try options.site().append(nickname: nick, [Change(entity: entity, key: key, op: .put, body: body)]) {
                try Output.json(entry)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a document (a tombstone). Prints the new entry.",
            discussion: """
                Example: nomadsync change delete alice item note-1

                A key that begins with '-' (a portable_id can) goes after '--': nomadsync change delete alice connection -- -B60WbCaX…
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Argument var entity: String
        @Argument var key: String

        func run() throws {
            for entry in try options.site().append(nickname: nick, [Change(entity: entity, key: key, op: .delete, body: "")]) {
                try Output.json(entry)
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a file of changes, one {\"entity\",\"key\",\"op\",\"body\"} per line, in one transaction.",
            discussion: "Example: nomadsync change apply alice --file changes.jsonl")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The file of changes (JSON lines).") var file: String

        func run() throws {
            let changes: [Change] = try JSONLines.read(file, what: "change")
            let entries = try options.site().append(nickname: nick, changes)
            Output.message("\(entries.count) changes applied")
        }
    }
}

/// Reads a JSON-lines file whole; a bad line names its number and nothing is used.
enum JSONLines {
    static func read<T: Decodable>(_ path: String, what: String) throws -> [T] {
        var reader = try JSONLinesReader<T>(path: path, what: what)
        return try reader.all()
    }
}
