import Foundation
import Hummingbird
import Logging
import NIOCore
import NomadEngine
import NomadModel
import NomadTransport
import ServiceLifecycle

/// A running nomadsync: the HTTP server (federation routes, admin API, health and metrics)
/// and the delivery worker, as one Hummingbird application.
///
/// ```swift
/// let app = NomadNode.application(site: site, configuration: config, transport: URLSessionTransport(), adminToken: token)
/// let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger))
/// try await group.run()
/// ```
public enum NomadNode {
    public static func application(
        site: Site, configuration: NodeConfiguration, transport: any HTTPTransport, adminToken: String,
        metrics: NodeMetrics = NodeMetrics(), logger: Logger = Logger(label: "nomadsync"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: NodeContext.self)
        let check = InboundCheck(configuration: configuration, clock: site.clock)
        FederationRoutes(site: site, check: check, metrics: metrics, logger: logger).register(on: router)
        AdminRoutes(site: site, token: adminToken, logger: logger).register(on: router)
        OpsRoutes(site: site, metrics: metrics).register(on: router)
        let worker = DeliveryWorker(site: site, transport: transport, configuration: configuration, metrics: metrics, logger: logger)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "nomadsync"),
            services: [worker],
            onServerRunning: onServerRunning,
            logger: logger)
    }
}

/// `GET /health` and `GET /metrics`.
struct OpsRoutes: Sendable {
    let site: Site
    let metrics: NodeMetrics

    struct Health: Encodable {
        var status: String
        var url: String
        var siteID: SiteID
        var version: String
        var channels: Int

        enum CodingKeys: String, CodingKey {
            case status, url, version, channels
            case siteID = "site_id"
        }
    }

    func register(on router: Router<NodeContext>) {
        router.get("/health") { _, _ -> Response in
            do {
                let me = try site.identity()
                return try FederationRoutes.json(Health(status: "ok", url: me.url, siteID: me.siteID, version: Envelope.currentVersion,
                                                        channels: try site.channels().count))
            } catch {
                throw ServerError(.serviceUnavailable, "not healthy: \(error)")
            }
        }
        router.get("/metrics") { _, _ -> Response in
            let statuses = (try? site.channels().compactMap { try? site.syncStatus(nickname: $0.nickname) }) ?? []
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render(statuses: statuses))))
        }
    }
}
