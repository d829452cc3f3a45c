import ArgumentParser
import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel", abstract: "Create, inspect, export and import channels.",
        subcommands: [Create.self, Show.self, List.self, Export.self, Import.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a channel here. Prints its portable_id.")
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
        static let configuration = CommandConfiguration(abstract: "A channel's identity, digest, vector, counts and locations.")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let status = try options.site().status(nickname: nick)
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
        static let configuration = CommandConfiguration(abstract: "The channels hosted here.")
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
            abstract: "Write the channel's identity (private key included) and log to a passphrase-encrypted file.")
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
            let bytes = try options.site().exportChannel(nickname: nick, passphrase: try secret.passphrase(), strength: strength)
            guard FileManager.default.createFile(atPath: out, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw CLIError("cannot write \(out)")
            }
            Output.message("exported '\(nick)' to \(out) (\(bytes.count) bytes, encrypted)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore an exported channel here, making this site a clone. Prints the portable_id.")
        @OptionGroup var options: DataOptions
        @OptionGroup var secret: PassphraseOptions
        @Argument var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            let report = try options.site().importChannel(Array(data), passphrase: try secret.passphrase())
            print(report.channel.portableID.text)
            Output.message("imported '\(report.channel.nickname)': \(report.replay.summary); this site is now a location")
        }
    }
}
