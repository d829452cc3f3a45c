import ArgumentParser
import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import NomadServer
import NomadStore
import NomadTransport

/// By-hand delivery and catch-up against another clone, for admins (and for checking what a
/// running node answers): the same signed requests the delivery worker sends.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Push to or pull from another clone now, over signed HTTP.",
        subcommands: [Push.self, Pull.self])

    static func location(_ site: Site, nick: String, url: String) throws -> (ChannelRecord, Location, RequestSigner) {
        let channel = try site.channel(nickname: nick)
        let base = try Names.normaliseSiteURL(url)
        guard let location = try site.liveLocations(of: channel).first(where: { $0.url == base || $0.fallbacks.contains(base) }) else {
            throw CLIError("\(base) is not a live location of '\(nick)'")
        }
        let me = try site.identity()
        return (channel, location, RequestSigner(keys: try site.channelKeys(channel), idURL: "\(me.url)/channel/\(nick)", random: site.random))
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the next outbox packet (a heartbeat when the outbox is empty) to a location and print its answer.")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The location's base URL.") var to: String

        func run() async throws {
            let site = try options.site()
            let (channel, location, signer) = try SyncCommand.location(site, nick: nick, url: to)
            let packet = try site.nextPacket(channel: nick, to: location)
            let request = try signer.post(url: "\(location.url)/zot", body: Array(try WireJSON.encode(packet.envelope).utf8),
                                          now: site.clock.nowMilliseconds())
            let response = try await URLSessionTransport().send(request)
            print(String(decoding: response.body, as: UTF8.self))
            if (200..<300).contains(response.status),
               let answer = try? WireJSON.decode(DeliveryAnswer.self, from: response.body, what: "answer"), answer.success {
                try site.acknowledged(channel: channel, siteID: location.siteID, positions: packet.positions)
                Output.message("acknowledged: \(packet.entryCount) entries left the outbox")
            } else {
                throw CLIError("\(location.url) answered \(response.status); the outbox is unchanged")
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch one page of an origin's entries from a location and apply it (or print it with --raw).")
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "The location's base URL.") var from: String
        @Option(help: "The writer id whose entries to fetch.") var origin: String
        @Option(help: "Fetch entries with seq greater than this.") var after: UInt64 = 0
        @Option(help: "At most this many entries.") var limit: Int = 500
        @Flag(help: "Print the sealed answer as received instead of applying it.") var raw = false

        func run() async throws {
            let site = try options.site()
            let (channel, location, signer) = try SyncCommand.location(site, nick: nick, url: from)
            let originID = try OriginID(validating: origin)
            let url = "\(location.url)/sync/\(channel.portableID.text)/entries?origin=\(originID.text)&after=\(after)&limit=\(limit)"
            let response = try await URLSessionTransport().send(try signer.get(url: url, now: site.clock.nowMilliseconds()))
            guard response.status == 200 else {
                throw CLIError("\(location.url) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
            }
            if raw { return print(String(decoding: response.body, as: UTF8.self)) }
            let answer = try WireJSON.decode(SealedPage.self, from: response.body, what: "sync page")
            let page = try site.openPage(answer, channel: channel, server: location, origin: originID, after: after)
            let report = try site.applyPage(page, channel: channel)
            Output.message("\(page.entries.count) entries fetched: \(report.summary)\(page.more ? "; more remain" : "")")
        }
    }
}
