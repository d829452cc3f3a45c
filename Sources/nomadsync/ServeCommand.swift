import ArgumentParser
import Foundation
import Logging
import NomadCrypto
import NomadEngine
import NomadServer
import NomadHTTPClient
import NomadTransport
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node: /zot, discovery, WebFinger, the sync pull, the admin API, /health, /metrics, and delivery.",
        discussion: """
            Stops cleanly on SIGTERM or SIGINT; the outbox is kept for the next start. The admin API's bearer token is in \
            DIR/admin.token (more with nomadsync token create). Settings come from flags, then NOMADSYNC_* variables, then \
            the config file (ops/nomadsync.example.toml lists every key).

            Examples:
              nomadsync serve --data ./data --listen 127.0.0.1:8450
              nomadsync serve --config /etc/nomadsync/nomadsync.toml
              curl --unix-socket ./data/admin.sock http://localhost/status
            """)

    @OptionGroup var options: DataOptions

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:8450; NOMADSYNC_LISTEN, or listen in the config file).", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("Where the admin API, /status and /metrics listen: unix:PATH or host:port (default unix:DIR/admin.sock; NOMADSYNC_ADMIN_LISTEN, or admin_listen). Never the federation listener.",
                               valueName: "unix:path|host:port"))
    var adminListen: String?

    @Option(help: ArgumentHelp("Seconds between heartbeats to each other location (default 30).", valueName: "seconds"))
    var heartbeat: Double?

    @Option(help: ArgumentHelp("Milliseconds between outbox checks (default 250).", valueName: "ms"))
    var poll: Int?

    @Option(help: ArgumentHelp("Seconds an outbound request may take (default 15).", valueName: "seconds"))
    var requestTimeout: Double?

    @Option(help: ArgumentHelp("Entries per outbound packet and catch-up page (default 500).", valueName: "count"))
    var packetEntries: Int?

    @Option(help: ArgumentHelp("Seconds between the status page's lag samples (default 10).", valueName: "seconds"))
    var statusSample: Double?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error (default info).", valueName: "level"))
    var logLevel: String?

    /// Every setting resolved (flag, environment, config file, default) and checked.
    struct Resolved {
        var configuration = NodeConfiguration()
        var listen = ""
        var admin = ""
        var level = Logger.Level.info
    }

    func resolve() throws -> Resolved {
        let settings = try options.settings()
        var out = Resolved()
        out.listen = try settings.string("listen", flag: listen) ?? "127.0.0.1:8450"
        do { (out.configuration.host, out.configuration.port) = try NodeConfiguration.parseListen(out.listen) } catch { throw CLIError("listen: \(error)") }
        out.admin = try settings.string("admin_listen", flag: adminListen) ?? "unix:" + (options.directory as NSString).appendingPathComponent("admin.sock")
        do { out.configuration.admin = try NodeConfiguration.AdminListen.parse(out.admin) } catch { throw CLIError("admin listen: \(error)") }
        let levelText = try settings.string("log_level", flag: logLevel) ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw CLIError("the log level must be one of trace, debug, info, notice, warning, error, not '\(levelText.prefix(20))'")
        }
        out.level = level
        let heartbeat = try settings.number("delivery.heartbeat_seconds", flag: heartbeat, range: 0.1...86_400) ?? 30
        out.configuration.heartbeatMilliseconds = UInt64(heartbeat * 1000)
        let poll = try settings.number("delivery.poll_ms", flag: poll.map(Double.init), range: 10...60_000) ?? 250
        out.configuration.pollMilliseconds = UInt64(poll)
        out.configuration.requestTimeoutSeconds = try settings.number("delivery.request_timeout_seconds", flag: requestTimeout, range: 1...600) ?? 15
        out.configuration.packetEntries = Int(try settings.number("delivery.packet_entries", flag: packetEntries.map(Double.init), range: 1...10_000) ?? 500)
        let sample = try settings.number("status.sample_seconds", flag: statusSample, range: 0.1...3600) ?? 10
        out.configuration.statusSampleMilliseconds = UInt64(sample * 1000)
        return out
    }

    func validate() throws {
        do { _ = try resolve() } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        let resolved = try resolve()
        let level = resolved.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nomadsync")
        let site = try options.site()
        let lock = try DataDirectoryLock(directory: options.directory)
        let identity = try site.identity()
        let configuration = resolved.configuration
        let listenHost = configuration.host
        let token = try AdminToken.loadOrCreate(directory: options.directory, random: site.random)
        if case .tcp(let host, _) = configuration.admin, !(host.hasPrefix("127.") || host == "::1" || host == "localhost") {
            logger.warning("the admin API listens on a non-loopback address; anyone who reaches it needs only the token", metadata: ["admin": "\(resolved.admin)"])
        }
        let admin = resolved.admin
        let services = NomadNode.services(
            site: site, configuration: configuration, transport: PooledHTTPTransport(timeout: configuration.requestTimeoutSeconds),
            adminToken: token, logger: logger,
            onServerRunning: { channel in
                let port = channel.localAddress?.port.map(String.init) ?? "?"
                logger.notice("nomadsync listening", metadata: [
                    "address": "\(listenHost):\(port)", "site": "\(identity.url)", "site_id": "\(identity.siteID.text)",
                ])
            },
            onAdminRunning: { _ in logger.notice("admin API listening", metadata: ["admin": "\(admin)"]) })
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        withExtendedLifetime(lock) {}
        logger.notice("nomadsync stopped")
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show how each clone of a channel is doing: state, lag, outbox, digest and vector (as GET /api/v1/channels/NICK).",
        discussion: "Example: nomadsync status alice --json")

    @OptionGroup var options: DataOptions
    @Argument var nick: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let status = try options.site().syncStatus(nickname: nick)
        if json { return try Output.json(status) }
        print("\(status.nickname)  digest \(status.digest.prefix(16))…  entries \(status.entries)  held \(status.held)  outbox \(status.outbox)\(status.messages > 0 ? "  messages \(status.messages)" : "")\(status.missingBlobs > 0 ? "  missing blobs \(status.missingBlobs)" : "")\(status.retired ? "  (retired here)" : "")")
        if let why = status.diverged { print("DIVERGED: \(why)") }
        if status.purged { print("PURGED: deleted everywhere; the purge entry is still being delivered (outbox), then the channel is wiped here") }
        if let pending = status.rekeyPending { print("REKEY PENDING: the channel moved to \(pending.text); this site lacks a rekey before it and signs with its current key until the rest arrives") }
        for loc in status.locations {
            let who = loc.isSelf ? "(this site)" : ""
            print("  \(loc.state.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(loc.url) \(who) lag \(loc.lagEntries) outbox \(loc.outbox)\(loc.progress.map { " (\($0)% held)" } ?? "")\(loc.lastError.map { "  last error: \($0.prefix(120))" } ?? "")")
        }
    }
}
