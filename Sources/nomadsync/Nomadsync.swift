import ArgumentParser
import Foundation

/// The `nomadsync` command: wiring only; the work is done by NomadEngine.
@main
struct Nomadsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nomadsync",
        abstract: "Keeps the clones of a nomadic channel mirrored across hosts.",
        discussion: """
            Every command takes --data DIR (default ./data, or NOMADSYNC_DATA) and --config FILE (or NOMADSYNC_CONFIG). \
            JSON goes to stdout, messages to stderr; a failure exits non-zero and changes nothing.

            Example, a site with one channel, then serving it:
              nomadsync init --url https://hub.example/nomad
              nomadsync channel create alice --name "Alice"
              nomadsync serve
            """,
        version: "0.1.0",
        subcommands: [InitCommand.self, SiteCommand.self, ChannelCommand.self, ChangeCommand.self,
                      StateCommand.self, LogCommand.self, PacketCommand.self, ServeCommand.self, StatusCommand.self, SyncCommand.self,
                      SimulateCommand.self, CloneCommand.self, BlobCommand.self, WebhookCommand.self, TokenCommand.self, BenchCommand.self]
    )

    /// ArgumentParser's own `main`, after refusing a value that begins with `-` where it would
    /// be read as options (`DashedValueHint`).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let value = DashedValueHint.misread(in: arguments) {
            FileHandle.standardError.write(Data((DashedValueHint.message(for: value) + "\n").utf8))
            exit(withError: ExitCode(64))  // EX_USAGE, as for any other usage error
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
