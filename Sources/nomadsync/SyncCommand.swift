import ArgumentParser
import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadServer
import NomadHTTPClient
import NomadTransport

/// By-hand delivery and catch-up against another clone, for admins (and for checking what a
/// running node answers): the same planner decisions and signed requests as the delivery worker.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Push to or pull from another clone now, over signed HTTP.",
        subcommands: [Push.self, Pull.self])

    /// The channel, the live location at `url` (main URL or a fallback), and the planner.
    static func target(_ site: Site, nick: String, url: String) throws -> (HostedChannel, Location, DeliveryPlanner) {
        let channel = try site.channel(nickname: nick)
        let base = try Names.normaliseSiteURL(url)
        guard let location = try site.liveLocations(of: channel).first(where: { $0.url == base || $0.fallbacks.contains(base) }) else {
            throw CLIError("\(base) is not a live location of '\(nick)'")
        }
        return (channel, location, DeliveryPlanner(site: site, policy: NodeConfiguration().deliveryPolicy))
    }

    static func client(_ site: Site) -> SyncClient {
        SyncClient(transport: PooledHTTPTransport(), random: site.random, maxDepth: site.limits.maxJSONDepth)
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the next outbox packet (a heartbeat when the outbox is empty) to a location and print its answer.",
            discussion: "Example: nomadsync sync push alice --to https://b.example")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The location's base URL.") var to: String

        func run() async throws {
            let site = try options.site()
            let clock = site.clock
            let (channel, location, planner) = try SyncCommand.target(site, nick: nick, url: to)
            let action = try planner.send(channel: channel, to: location)
            let answer = await SyncCommand.client(site).post(action.body, to: action.urls, keys: try site.channelKeys(channel),
                                                             keyURL: action.keyURL, now: { clock.nowMilliseconds() })
            if case .answered(let body) = answer { print(try WireJSON.encode(body)) }
            switch try planner.record(answer, of: action) {
            case .acked(let entries, let more, _):
                Output.message("acknowledged: \(entries) entries left the outbox\(more ? "; more remain" : "")")
            case .healed(let report, let reason):
                throw CLIError("\(reason)\nthis site took back its entries and a new writer: \(report)")
            case .failed(let reason, _, _, let introduced):
                throw CLIError("\(reason)\nthe outbox is unchanged\(introduced ? "; this site's location entry is queued for that clone again" : "")")
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch one page of an origin's entries from a location and apply it (or print it with --raw).",
            discussion: "Example: nomadsync sync pull alice --from https://b.example --origin sCK7zpWYIyKe9ck9cxz7ow --after 0")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The location's base URL.") var from: String
        @Option(parsing: .unconditional, help: "The writer id whose entries to fetch.") var origin: String
        @Option(help: "Fetch entries with seq greater than this.") var after: UInt64 = 0
        @Option(help: "At most this many entries.") var limit: Int = 500
        @Flag(help: "Print the sealed answer as received instead of applying it.") var raw = false

        func run() async throws {
            let site = try options.site()
            let clock = site.clock
            let (channel, location, planner) = try SyncCommand.target(site, nick: nick, url: from)
            let action = try planner.pull(channel: channel, from: location, origin: try OriginID(validating: origin), after: after, limit: limit)
            let answer = await SyncCommand.client(site).pull(
                channel: channel.portableID, origin: action.origin, after: action.after, limit: action.limit, from: action.urls,
                keys: try site.channelKeys(channel), keyURL: action.keyURL, now: { clock.nowMilliseconds() })
            if raw {
                switch answer {
                case .answered(let page): return print(try WireJSON.encode(page))
                case .refused(let refusal): throw CLIError("\(refusal)")
                case .unreachable(let reason): throw CLIError(reason)
                }
            }
            switch try planner.record(answer, of: action).event {
            case .applied(let report, let pulled):
                Output.message("\(pulled) entries fetched: \(report.summary)")
            case .failed(_, let reason, _, _):
                throw CLIError("pull failed: \(reason)")
            }
        }
    }
}
