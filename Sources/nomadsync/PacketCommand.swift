import ArgumentParser
import Foundation
import NomadEngine
import NomadModel

struct PacketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packet", abstract: "Build and open sealed sync packets by hand (files instead of HTTP).",
        subcommands: [Seal.self, Open.self])

    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a sealed sync envelope for another site, carrying the channel's log.",
            discussion: "Example: nomadsync packet seal alice --to card-of-b.json > packet.json")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: ArgumentHelp("The recipient's site card (from `nomadsync site show`).", valueName: "file")) var to: String
        @Option(help: "Most entries to carry (default: the packet limit).") var maxEntries: Int?

        func run() throws {
            guard let data = FileManager.default.contents(atPath: to) else { throw CLIError("cannot read \(to)") }
            let card = try WireJSON.decode(SiteCard.self, from: data, what: "site card")
            try Output.json(try options.site().sealSync(nickname: nick, to: card, maxEntries: maxEntries))
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a sync envelope addressed to this site and replay it (or only print its data).",
            discussion: "Example: nomadsync packet open packet.json --decrypt-only")
        @OptionGroup var options: DataOptions
        @Argument var file: String
        @Flag(help: "Print the decrypted sync data instead of applying it.") var decryptOnly = false

        func run() throws {
            guard let body = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            let site = try options.site()
            if decryptOnly {
                switch try CodecRegistry.standard.decode(body, limits: site.limits) {
                case .ignored(let encoding, _):
                    Output.message("unknown encoding ignored: \(encoding)")
                case .envelope(let envelope):
                    try Output.json(try site.openSync(envelope).data)
                }
                return
            }
            switch try site.receive(body) {
            case .ignored(let encoding):
                print("unknown encoding ignored (\(encoding)); nothing applied")
            case .applied(let channel, let report):
                print("\(channel): sync applied: \(report.summary)")
            }
        }
    }
}
