import ArgumentParser
import Foundation
import Logging
import NomadCrypto
import NomadEngine
import NomadServer
import NomadTransport
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the node: /zot, discovery, WebFinger, the sync pull, the admin API, /health, /metrics, and delivery.",
        discussion: "Stops cleanly on SIGTERM or SIGINT; the outbox is kept for the next start. The admin API's bearer token is in DIR/admin.token.")

    @OptionGroup var options: DataOptions

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String = ProcessInfo.processInfo.environment["NOMADSYNC_LISTEN"] ?? "127.0.0.1:8450"

    @Option(help: ArgumentHelp("Where the admin API and /metrics listen: unix:PATH or host:port (default unix:DIR/admin.sock, or NOMADSYNC_ADMIN_LISTEN). Never the federation listener.",
                               valueName: "unix:path|host:port"))
    var adminListen: String?

    @Option(help: ArgumentHelp("Seconds between heartbeats to each other location.", valueName: "seconds"))
    var heartbeat: Double = 30

    @Option(help: ArgumentHelp("Milliseconds between outbox checks.", valueName: "ms"))
    var poll: Int = 250

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = ProcessInfo.processInfo.environment["NOMADSYNC_LOG_LEVEL"] ?? "info"

    func validate() throws {
        guard heartbeat >= 0.1 && heartbeat <= 86_400 else { throw ValidationError("--heartbeat must be between 0.1 and 86400 seconds") }
        guard poll >= 10 && poll <= 60_000 else { throw ValidationError("--poll must be between 10 and 60000 ms") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error") }
        do { _ = try NodeConfiguration.parseListen(listen) } catch { throw ValidationError("\(error)") }
        do { _ = try NodeConfiguration.AdminListen.parse(adminAddress) } catch { throw ValidationError("\(error)") }
    }

    var adminAddress: String {
        adminListen ?? ProcessInfo.processInfo.environment["NOMADSYNC_ADMIN_LISTEN"]
            ?? "unix:" + (options.directory as NSString).appendingPathComponent("admin.sock")
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nomadsync")
        let site = try options.site()
        let lock = try DataDirectoryLock(directory: options.directory)
        let identity = try site.identity()
        var configuration = NodeConfiguration()
        (configuration.host, configuration.port) = try NodeConfiguration.parseListen(listen)
        configuration.heartbeatMilliseconds = UInt64(heartbeat * 1000)
        configuration.pollMilliseconds = UInt64(poll)
        let listenHost = configuration.host
        let token = try AdminToken.loadOrCreate(directory: options.directory, random: site.random)
        configuration.admin = try NodeConfiguration.AdminListen.parse(adminAddress)
        if case .tcp(let host, _) = configuration.admin, !(host.hasPrefix("127.") || host == "::1" || host == "localhost") {
            logger.warning("the admin API listens on a non-loopback address; anyone who reaches it needs only the token", metadata: ["admin": "\(adminAddress)"])
        }
        let admin = adminAddress
        let services = NomadNode.services(
            site: site, configuration: configuration, transport: URLSessionTransport(timeout: configuration.requestTimeoutSeconds),
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
        abstract: "Show how each clone of a channel is doing: state, lag, outbox, digest and vector (as GET /api/v1/channels/NICK).")

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
