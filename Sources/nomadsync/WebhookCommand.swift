import ArgumentParser
import Foundation
import NomadEngine
import NomadModel

struct WebhookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Push the changes feed to the paired server's URL, signed, in order, until acknowledged.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a webhook; prints its id and its HMAC key (shown only now).",
            discussion: """
                From now on each batch of changes applied here (from other clones; with --local also this site's own) \\
                is POSTed to URL as a feed page, with X-Nomadsync-Signature: sha256=<hex HMAC-SHA-256 of the body under \\
                the key>. A running node delivers; an answer other than 2xx is retried with backoff, never skipped.

                Example: nomadsync webhook add http://127.0.0.1:8080/nomadsync --channel alice
                """)
        @OptionGroup var options: DataOptions
        @Argument var url: String
        @Option(help: "Only this channel's changes (default: every channel).") var channel: String?
        @Flag(help: "Also this site's own changes.") var local = false

        func run() throws {
            let hook = try options.site().addWebhook(url: url, nickname: channel, includeLocal: local)
            try Output.json(hook)
            Output.message("webhook \(hook.id) added; keep its secret: the paired server checks each body's HMAC with it")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The webhooks, with the changes each still has to deliver.",
            discussion: "Example: nomadsync webhook list")
        @OptionGroup var options: DataOptions

        func run() throws { try Output.json(try options.site().webhooks()) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a webhook.",
            discussion: "Example: nomadsync webhook remove 1")
        @OptionGroup var options: DataOptions
        @Argument var id: Int64

        func run() throws {
            guard try options.site().removeWebhook(id: id) else { throw CLIError("no webhook \(id)") }
            Output.message("webhook \(id) removed")
        }
    }
}
