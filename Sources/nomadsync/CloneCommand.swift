import ArgumentParser
import Foundation
import NomadEngine
import NomadModel
import NomadServer
import NomadHTTPClient
import NomadTransport

struct CloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone", abstract: "Make a new clone of a channel online, by a one-time ticket.",
        subcommands: [Invite.self, Accept.self, Claim.self])

    struct Invite: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time ticket that lets another site become a clone of a channel.",
            discussion: """
                Run on a site that hosts the channel (its node must be running to answer the claim). Give the ticket \
                to the new host's operator over a channel you trust: it holds a secret. It can be claimed once, by one \
                site, before it expires.

                Example: nomadsync clone invite alice --expires 30m
                """)
        @OptionGroup var options: DataOptions
        @Argument var nick: String
        @Option(help: "How long the ticket can be claimed: 90s, 30m, 1h, 2d (1 minute to 7 days).") var expires = "1h"
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let invitation = try options.site().inviteClone(nickname: nick, lifetimeMilliseconds: try Duration.milliseconds(expires))
            if json { return try Output.json(invitation) }
            print(invitation.ticket)
            Output.message("one-time ticket for '\(nick)', valid until \(invitation.expires); on the new host: nomadsync clone accept TICKET")
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Become a clone of a channel from a ticket: pull its whole log, then announce this site to every clone.",
            discussion: """
                Claims the ticket at the inviting site, receives the channel's keys sealed to this site, pulls every \
                entry page by page (progress on the terminal, or a line every few seconds otherwise), then writes this \
                site's location and pushes it to every location at once. Interrupted at any point, run it again with \
                the same ticket: it resumes where it stopped.

                Example: nomadsync clone accept nomadsync-ticket:eyJ…
                """)
        @OptionGroup var options: DataOptions
        @Argument var ticket: String
        @Option(help: "Entries per page pulled (1-1000); smaller pages suit slow links.") var pageSize = 500
        @Flag(help: "Print the outcome as JSON.") var json = false

        func run() async throws {
            let site = try options.site()
            let parsed = try CloneTicket(parsing: ticket)
            guard (1...1000).contains(pageSize) else { throw CLIError("--page-size must be from 1 to 1000") }
            var bootstrapper = CloneBootstrapper(site: site, transport: PooledHTTPTransport(timeout: 30))
            bootstrapper.pageSize = pageSize
            let meter = ProgressMeter(terminal: isatty(STDERR_FILENO) == 1)
            let outcome: BootstrapOutcome
            do {
                outcome = try await bootstrapper.run(parsed) { meter.show($0) }
            } catch let error as BootstrapError {
                meter.finish()
                throw CLIError(error.description)
            }
            meter.finish()
            if json { return try Output.json(outcome) }
            Output.message("this site is now a clone of '\(outcome.channel)': \(outcome.pulled) entries pulled in \(String(format: "%.1f", outcome.seconds)) s; announced to \(outcome.announcedTo.isEmpty ? "no location yet (the node delivers it)" : outcome.announcedTo.joined(separator: ", "))")
        }
    }
}

extension CloneCommand {
    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a ticket: claim it for this site and print the claim sent and the grant received (no pull).",
            discussion: """
                The grant's identity stays sealed to this site. The claim binds the ticket to this site, as \
                `clone accept` would; run `clone accept` with the same ticket afterwards to make the clone.

                Example: nomadsync clone claim nomadsync-ticket:…
                """)
        @OptionGroup var options: DataOptions
        @Argument var ticket: String

        struct Exchange: Encodable {
            var claim: CloneClaim
            var grant: CloneGrant
        }

        func run() async throws {
            let site = try options.site()
            let parsed = try CloneTicket(parsing: ticket)
            let claim = try site.cloneClaim(for: parsed)
            let client = CloneClient(transport: PooledHTTPTransport(timeout: 30), random: site.random)
            switch await client.claim(claim, at: parsed.url) {
            case .answered(let grant): try Output.json(Exchange(claim: claim, grant: grant))
            case .refused(let refusal): throw CLIError("the inviting site refused the ticket: \(refusal.description)")
            case .unreachable(let reason): throw CLIError("the inviting site cannot be reached: \(reason)")
            }
        }
    }
}

/// Durations people type: a number and s, m, h or d.
enum Duration {
    static func milliseconds(_ text: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let unit = text.last.flatMap({ units[$0] }), let n = UInt64(text.dropLast()), n <= 10_000 else {
            throw CLIError("'\(text.prefix(40))' is not a duration like 90s, 30m, 1h or 2d")
        }
        return n * unit
    }
}

/// A one-line progress bar on a terminal (entries, bytes, rate, ETA), else a log line every
/// few seconds.
final class ProgressMeter: @unchecked Sendable {
    let terminal: Bool
    private let lock = NSLock()
    private var lastLine = Date.distantPast
    private var shown = false

    init(terminal: Bool) { self.terminal = terminal }

    func show(_ p: BootstrapProgress) {
        lock.withLock {
            let now = Date()
            guard terminal || now.timeIntervalSince(lastLine) >= 2 || p.entries == p.total else { return }
            lastLine = now
            // At most 1: the inviting site may hold more than it granted by the time pages come.
            let fraction = p.total > 0 ? min(max(Double(p.entries) / Double(p.total), 0), 1) : 1
            let width = 30
            let filled = Int(fraction * Double(width))
            let eta = p.eta.map { String(format: "%.0f s", $0) } ?? "?"
            let text = String(format: "%@ %ld/%ld entries, %.1f MiB, %.0f entries/s, ETA %@", p.channel, p.entries, p.total,
                              Double(p.bytes) / 1_048_576, p.rate, eta)
            if terminal {
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K".utf8))
                shown = true
            } else {
                FileHandle.standardError.write(Data("progress: \(text)\n".utf8))
            }
        }
    }

    func finish() {
        lock.withLock { if terminal && shown { FileHandle.standardError.write(Data("\n".utf8)) } }
    }
}
