import ArgumentParser
import NomadEngine
import NomadModel

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "A channel's live documents (the winning entry of each).",
            discussion: "Example: nomadsync state alice --entity item --json")

    @OptionGroup var options: DataOptions
    @Argument var nick: String
    @Option(help: "Only this entity.") var entity: String?
    @Flag(help: "Include tombstones of deleted documents.") var all = false
    @Flag(help: "Print JSON.") var json = false

    struct Row: Encodable {
        var entity: String
        var key: String
        var op: String
        var body: String
        var hlc: String
        var origin: String
        var entry: String
    }

    func run() throws {
        let rows = try options.site().state(nickname: nick, entity: entity, includeDeleted: all).map {
            Row(entity: $0.entity, key: $0.key, op: $0.op.rawValue, body: $0.body, hlc: $0.hlc.text, origin: $0.origin.text, entry: $0.entryID)
        }
        if json {
            try Output.json(rows)
        } else {
            for row in rows { print("\(row.entity)\t\(row.key)\t\(row.op == "delete" ? "(deleted)" : row.body)") }
        }
    }
}
