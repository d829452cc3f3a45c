import ArgumentParser
import NomadEngine
import NomadModel

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create this site: its keys, site_id and data directory. Prints the site_id.",
            discussion: "Example: nomadsync init --url https://hub.example/nomad --data /var/lib/nomadsync")

    @OptionGroup var options: DataOptions

    @Option(help: ArgumentHelp("The site's public base URL, e.g. https://hub.example.org", valueName: "url"))
    var url: String

    func run() throws {
        _ = try Names.normaliseSiteURL(url)  // refuse a bad URL before anything is created
        let site = try options.site(create: true)
        let identity = try site.initialise(url: url)
        print(identity.siteID.text)
        Output.message("site created in \(options.directory) for \(identity.url)")
    }
}

struct SiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site", abstract: "This site's identity.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the site card (url, site_id, public keys) that other sites address packets with.",
            discussion: "Example: nomadsync site show > card.json")

        @OptionGroup var options: DataOptions
        @Flag(help: "Print JSON (the default).") var json = false

        func run() throws {
            try Output.json(try options.site().identity().card)
        }
    }
}
