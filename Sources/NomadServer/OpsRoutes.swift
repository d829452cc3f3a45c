import Foundation
import Hummingbird
import NIOCore
import NomadEngine
import NomadModel

/// The operator's routes: `/health`, `/metrics` and the HTML status page.
struct OpsRoutes: Sendable {
    let site: Site
    let metrics: NodeMetrics

    struct Health: Encodable {
        var status: String
        var url: String
        var siteID: SiteID
        var version: String
        var channels: Int
        var diverged: [String]

        enum CodingKeys: String, CodingKey {
            case status, url, version, channels, diverged
            case siteID = "site_id"
        }
    }

    /// 200 `ok`, or 503 `degraded` naming every channel whose `diverged` alarm is raised.
    func registerHealth(on router: some RouterMethods<NodeContext>) {
        router.get("/health") { _, _ -> Response in
            let me: SiteIdentity
            let channels: [HostedChannel]
            do {
                me = try site.identity()
                channels = try site.channels()
            } catch {
                throw ServerError(.serviceUnavailable, "not healthy: \(error)")
            }
            let diverged = channels.filter { $0.diverged != nil }.map(\.nickname)
            return try FederationRoutes.json(
                Health(status: diverged.isEmpty ? "ok" : "degraded", url: me.url, siteID: me.siteID, version: Envelope.currentVersion,
                       channels: channels.count, diverged: diverged),
                status: diverged.isEmpty ? .ok : .serviceUnavailable)
        }
    }

    func registerMetrics(on router: Router<NodeContext>) {
        router.get("/metrics") { _, _ -> Response in
            let statuses = (try? site.channels().compactMap { try? site.syncStatus(nickname: $0.nickname) }) ?? []
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            let text = metrics.render(statuses: statuses, webhooks: (try? site.webhooks()) ?? [])
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}

extension OpsRoutes {
    /// `GET /status` (every channel) and `GET /status/{nick}`: the HTML status page.
    func registerStatusPage(on router: Router<NodeContext>, history: LagHistory) {
        router.get("/status") { _, _ -> Response in
            let statuses = try site.channels().map { try site.syncStatus(nickname: $0.nickname) }
            return html(StatusPage.render(site: try site.identity().url, statuses: statuses, history: history, single: false))
        }
        router.get("/status/:nick") { _, context -> Response in
            let status = try site.syncStatus(nickname: context.parameters.get("nick") ?? "")
            return html(StatusPage.render(site: try site.identity().url, statuses: [status], history: history, single: true))
        }
    }

    private func html(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

