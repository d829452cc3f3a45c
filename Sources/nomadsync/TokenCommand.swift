import ArgumentParser
import Foundation
import NomadEngine

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Named bearer tokens for the admin API, one per paired server or operator.",
        discussion: """
            DATA/admin.token always works; named tokens can be handed out and revoked one by one. Only a hash of \\
            each is stored. A running node sees a revocation at the next request.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token; prints it once (it cannot be shown again).",
            discussion: """
                Example:
                  nomadsync token create --name hub
                  curl -H "Authorization: Bearer nst_…" --unix-socket data/admin.sock http://localhost/api/v1/channels
                """)
        @OptionGroup var options: DataOptions
        @Option(help: "A name to list and revoke it by (a-z, A-Z, 0-9, _ . -).") var name: String

        func run() throws {
            let made = try options.site().createAdminToken(name: name)
            print(made.token)
            Output.message("token '\(made.name)' created; this is the only time it is shown")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The named tokens: when made, last used and revoked (never the tokens).",
            discussion: "Example: nomadsync token list")
        @OptionGroup var options: DataOptions

        func run() throws { try Output.json(try options.site().adminTokens()) }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: the next request that carries it gets 401.",
            discussion: "Example: nomadsync token revoke hub")
        @OptionGroup var options: DataOptions
        @Argument(help: "The token's name.") var name: String

        func run() throws {
            try options.site().revokeAdminToken(name: name)
            Output.message("token '\(name)' revoked")
        }
    }
}
