import ArgumentParser
import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadServer
import NomadHTTPClient
import NomadTransport

struct ChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel", abstract: "Create, inspect, export and import channels.",
        subcommands: [Create.self, Show.self, List.self, Export.self, Import.self, Fallbacks.self, Retire.self, Delete.self, Rekey.self, Migrate.self, Heal.self])

    struct Heal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recover from a fork or a diverged alarm (see docs/OPERATIONS.md).",
            discussion: """
                Without --origin: this site takes a new writer id (what a site restored from a backup does by itself \
                when it notices); the first clone that refuses one of its old entries as a fork makes it take them back \
                and write them again. With --origin O --after N: drops another writer's entries after seq N from this \
                site's log so they are fetched again from the other clones. Both clear the diverged alarm; the node \
                may keep running.

                Examples:
                  nomadsync channel heal alice
                  nomadsync channel heal alice --origin sCK7zpWYIyKe9ck9cxz7ow --after 120
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(parsing: .unconditional, help: "Another site's writer id whose entries this site holds wrongly.") var origin: String?
        @Option(help: "With --origin: keep that writer's entries through this seq.") var after: UInt64?

        func run() throws {
            let site = try options.site()
            if let origin {
                guard let after else { throw ValidationError("--origin needs --after SEQ") }
                let id = try OriginID(validating: origin)
                let dropped = try site.dropEntries(nickname: nick, origin: id, after: after)
                Output.message("\(dropped) entries of \(id.text) after seq \(after) dropped; they are fetched again from the other clones")
            } else {
                let report = try site.healWriter(nickname: nick, cause: .requested)
                Output.message("new writer \(report.newWriter.text) (was \(report.oldWriter.text)); kept its entries through seq \(report.keptThrough), wrote \(report.reissued) again")
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a channel here. Prints its portable_id.",
            discussion: "Example: nomadsync channel create alice --name Alice")
        @OptionGroup var options: DataOptions
        @Argument(help: "Nickname (a-z, 0-9, _ and .).") var nick: String
        @Option(help: "Display name (default: the nickname).") var name: String?

        func run() throws {
            let channel = try options.site().createChannel(nickname: nick, name: name)
            print(channel.portableID.text)
            Output.message("channel '\(nick)' created")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A channel's identity, digest, vector, counts and locations.",
            discussion: "Example: nomadsync channel show alice --json")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let status = try options.site().channelStatus(nickname: nick)
            if json {
                try Output.json(status)
            } else {
                print("""
                    \(status.nickname) (\(status.name))
                      portable_id \(status.portableID.text)
                      digest      \(status.digest)
                      entries     \(status.entries) applied, \(status.held) held\(status.missing.isEmpty ? "" : ", missing \(status.missing.map(\.description).joined(separator: " "))")
                      diverged    \(status.diverged ?? "no")
                      locations   \(status.locations.map { "\($0.url)\($0.primary ? " (primary)" : "")" }.joined(separator: ", "))
                    """)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The channels hosted here.",
            discussion: "Example: nomadsync channel list --json")
        @OptionGroup var options: DataOptions
        @Flag(help: "Print JSON.") var json = false

        struct Line: Encodable {
            var nickname: String
            var name: String
            var portable_id: String
        }

        func run() throws {
            let lines = try options.site().channels().map { Line(nickname: $0.nickname, name: $0.name, portable_id: $0.portableID.text) }
            if json {
                try Output.json(lines)
            } else {
                for line in lines { print("\(line.nickname)\t\(line.portable_id)\t\(line.name)") }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the channel's identity (private key included) and log to a passphrase-encrypted file.",
            discussion: "Example: nomadsync channel export alice -o alice.nomad --passphrase-file pass.txt")
        @OptionGroup var options: DataOptions
        @OptionGroup var secret: PassphraseOptions
        @Argument var nick: String
        @Option(name: [.customShort("o"), .long], help: "The file to write.") var out: String
        @Option(help: "Argon2id cost: interactive, moderate (default) or sensitive.")
        var kdf: String = PassphraseContainer.Strength.moderate.rawValue

        func run() throws {
            guard let strength = PassphraseContainer.Strength(rawValue: kdf) else {
                throw ValidationError("--kdf must be interactive, moderate or sensitive")
            }
            let site = try options.site()
            // Written beside the target and renamed into place once complete and on disk: a
            // failed export leaves no half file under the name asked for.
            let partial = out + ".partial"
            guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: partial) else {
                let folder = (out as NSString).deletingLastPathComponent
                throw CLIError("cannot create \(partial) (the export is written there, then renamed to \(out)): is \(folder.isEmpty ? "." : folder) a writable directory?")
            }
            let report: ExportReport
            do {
                report = try site.exportChannel(nickname: nick, passphrase: try secret.passphrase(), strength: strength) {
                    try handle.write(contentsOf: $0)
                }
                try handle.synchronize()
                try handle.close()
                if FileManager.default.fileExists(atPath: out) { try FileManager.default.removeItem(atPath: out) }
                try FileManager.default.moveItem(atPath: partial, toPath: out)
            } catch {
                try? handle.close()
                try? FileManager.default.removeItem(atPath: partial)
                throw error
            }
            Output.message("exported '\(nick)' to \(out) (\(report.entries) entries, \(report.blobs) blobs, \(report.bytes) bytes, encrypted)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore an exported channel here, making this site a clone. Prints the portable_id.",
            discussion: "Example: NOMADSYNC_PASSPHRASE=… nomadsync channel import alice.nomad")
        @OptionGroup var options: DataOptions
        @OptionGroup var secret: PassphraseOptions
        @Argument var file: String

        func run() async throws {
            guard let handle = FileHandle(forReadingAtPath: file) else { throw CLIError("cannot read \(file)") }
            defer { try? handle.close() }
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let site = try options.site()
            Output.message("opening \(file) (\(size / 1024) KiB) and replaying its log…")
            let report = try site.importChannel(passphrase: try secret.passphrase(), from: .init { count in
                try handle.read(upToCount: count).map { Array($0) } ?? []
            })
            print(report.channel.portableID.text)
            // Tell every other location now rather than at the node's next pass.
            let announced = await LocationAnnouncer(site: site, transport: PooledHTTPTransport(timeout: 5)).announce(report.channel)
            Output.message("imported '\(report.channel.nickname)': \(report.replay.summary); this site is now a location; announced to \(announced.isEmpty ? "no location yet (a running node delivers it)" : announced.joined(separator: ", "))")
        }
    }

    struct Fallbacks: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the other URLs under which this site is reached for a channel; the clones try them in order after the main URL.",
            discussion: "Example: nomadsync channel fallbacks alice https://backup.example/nomad")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Argument(help: "Fallback base URLs; none clears them.") var urls: [String] = []

        func run() throws {
            let location = try options.site().setFallbacks(nickname: nick, urls)
            try Output.json(location.baseURLs)
            Output.message("this site's location for '\(nick)' now lists \(location.fallbacks.count) fallback URLs; it goes to every clone")
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire this site's location of a channel; the other clones carry it on.",
            discussion: """
                Publishes this site's location as deleted to every other clone. A running node sends what is still \
                queued, then no longer writes or serves the channel here (410). The primary location cannot retire.

                Example: nomadsync channel retire alice
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String

        func run() throws {
            try options.site().retire(nickname: nick)
            Output.message("this site's location of '\(nick)' is retired; a running node tells the other clones")
        }
    }

    struct Rekey: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a channel a new key pair; every clone switches to it.",
            discussion: """
                Writes a key entry (the rekey data signed by the old and the new key, and the new private key sealed \
                under a key derived from the old one: never in clear) and switches this site at once; a running node \
                delivers it and each clone switches when it applies it. With --update the new portable_id replaces the \
                old one, which is refused from then on (for a key that may have leaked); without it the two ids are \
                linked and both stay valid.

                Example: nomadsync channel rekey alice --update
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Flag(help: "Replace the old portable_id instead of linking it.") var update = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let outcome = try options.site().rekey(nickname: nick, update: update)
            if json { return try Output.json(outcome) }
            Output.message("'\(nick)' rekeyed: portable_id \(outcome.newPortableID.text) \(update ? "replaces" : "is linked to") \(outcome.oldPortableID.text)")
        }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a channel's primary location from this site to another clone.",
            discussion: """
                Refuses unless the target is a live clone that has caught up (it reported every entry this site holds \
                and nothing waits in the outbox for it). Then the target becomes the primary location, this site's \
                location is marked deleted, a refresh goes to every location and connection, and this site keeps \
                answering discovery, WebFinger and the actor (with movedTo) for whoever still looks here. A running \
                node delivers the change.

                Example: nomadsync channel migrate alice --to https://b.example
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The target clone's URL.") var to: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let outcome = try options.site().migrate(nickname: nick, to: to)
            if json { return try Output.json(outcome) }
            Output.message("'\(nick)' moved to \(outcome.to) (now primary); this location is deleted and a running node tells every clone and connection")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a channel here (retire this location) or, with --everywhere, on every clone.",
            discussion: """
                Without --everywhere this is `channel retire`: this site's location is marked deleted and the other \
                clones carry the channel on. With --everywhere a purge entry goes to every clone: each one wipes the \
                channel's log, state and keys and answers 410 for it from then on; this site wipes its own copy once \
                every location has acknowledged (a running node delivers it). It cannot be undone.

                Example: nomadsync channel delete alice --everywhere
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Flag(help: "Delete the channel on every clone (purge).") var everywhere = false

        func run() throws {
            let site = try options.site()
            guard everywhere else {
                try site.retire(nickname: nick)
                return Output.message("this site's location of '\(nick)' is retired; a running node tells the other clones")
            }
            let outcome = try site.purge(nickname: nick)
            Output.message(outcome.wiped ? "'\(nick)' deleted everywhere; nothing of it is left here"
                : "'\(nick)' deleted everywhere; a running node tells \(outcome.pendingLocations) other location(s), then wipes it here")
        }
    }
}
