import ArgumentParser

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
}
