import Foundation
import Hummingbird
import Logging
import NIOCore
import NomadEngine
import NomadModel
import NomadTransport
import ServiceLifecycle

/// A running nomadsync is two HTTP listeners and the delivery worker:
/// - the **federation** listener (other sites): `/zot`, discovery, WebFinger, the sync pull and
///   `/health`, with the delivery worker as its service;
/// - the **admin** listener (the paired server and the operator): `/api/v1` with the bearer
///   token, `/metrics` and `/health`. It is never the federation one, so no reverse proxy in
///   front of the federation listener can expose it; by default it is a Unix socket.
///
/// ```swift
/// let services = NomadNode.services(site: site, configuration: config, transport: URLSessionTransport(), adminToken: token)
/// let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm], logger: logger))
/// try await group.run()
/// ```
public enum NomadNode {
    public static func services(
        site: Site, configuration: NodeConfiguration, transport: any HTTPTransport, adminToken: String,
        metrics: NodeMetrics = NodeMetrics(), logger: Logger = Logger(label: "nomadsync"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> [any Service] {
        let wake = DeliveryWake()
        return [
            federation(site: site, configuration: configuration, transport: transport, metrics: metrics, logger: logger,
                       wake: wake, onServerRunning: onServerRunning),
            admin(site: site, configuration: configuration, adminToken: adminToken, metrics: metrics, logger: logger,
                  wake: wake, transport: transport, onServerRunning: onAdminRunning),
        ]
    }

    /// The federation listener and the delivery worker.
    public static func federation(
        site: Site, configuration: NodeConfiguration, transport: any HTTPTransport, metrics: NodeMetrics,
        logger: Logger, wake: DeliveryWake = DeliveryWake(), onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: NodeContext.self)
        router.addMiddleware { ErrorMiddleware(metrics: metrics, logger: logger) }
        let split = (try? site.identity()).flatMap { try? RequestSigner.split($0.url) }
        let authority = split?.host ?? "\(configuration.host):\(configuration.port)"
        // A site URL with a path (`https://hub.example/nomad`, sharing a domain with a hub):
        // requests arrive with it (no proxy, or one that keeps it) or without it (a proxy that
        // strips it); the routes answer both ways, and signatures always cover the full path.
        let prefix = split.map { $0.target == "/" ? "" : $0.target } ?? ""
        let check = InboundCheck(configuration: configuration, clock: site.clock, authority: authority, pathPrefix: prefix)
        let federation = FederationRoutes(site: site, check: check, metrics: metrics, logger: logger,
                                          discoveryClient: DiscoveryClient(transport: transport))
        federation.register(on: router)
        CloneRoutes(site: site, check: check, logger: logger).register(on: router)
        BlobRoutes(site: site, check: check).register(on: router)
        if !prefix.isEmpty {
            let group = router.group(RouterPath(prefix))
            federation.register(on: group)
            CloneRoutes(site: site, check: check, logger: logger).register(on: group)
            BlobRoutes(site: site, check: check).register(on: group)
            OpsRoutes(site: site, metrics: metrics).registerHealth(on: group)
        }
        OpsRoutes(site: site, metrics: metrics).registerHealth(on: router)
        let worker = DeliveryWorker(site: site, transport: transport, configuration: configuration, metrics: metrics, logger: logger,
                                    wake: wake)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "nomadsync"),
            services: [worker],
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// The admin listener: `/api/v1`, `/metrics`, `/health`.
    public static func admin(
        site: Site, configuration: NodeConfiguration, adminToken: String, metrics: NodeMetrics, logger: Logger,
        wake: DeliveryWake = DeliveryWake(), transport: (any HTTPTransport)? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: NodeContext.self)
        router.addMiddleware { ErrorMiddleware(metrics: nil, logger: logger) }
        AdminRoutes(site: site, token: adminToken, logger: logger, wake: wake, transport: transport).register(on: router)
        OpsRoutes(site: site, metrics: metrics).registerHealth(on: router)
        OpsRoutes(site: site, metrics: metrics).registerMetrics(on: router)
        let history = LagHistory()
        OpsRoutes(site: site, metrics: metrics).registerStatusPage(on: router, history: history)
        let sampler = LagSampler(site: site, history: history, interval: .milliseconds(Int64(clamping: configuration.statusSampleMilliseconds)),
                                 logger: logger)
        let address: BindAddress
        switch configuration.admin {
        case .tcp(let host, let port): address = .hostname(host, port: port)
        case .unix(let path):
            try? FileManager.default.removeItem(atPath: path)  // a stale socket of a stopped node (the data lock is held)
            address = .unixDomainSocket(path: path)
        }
        let socketPath: String? = if case .unix(let path) = configuration.admin { path } else { nil }
        return Application(
            router: router,
            configuration: .init(address: address, serverName: "nomadsync-admin"),
            services: [sampler],
            onServerRunning: { channel in
                if let socketPath { chmod(socketPath, 0o600) }
                await onServerRunning(channel)
            },
            logger: logger)
    }
}
