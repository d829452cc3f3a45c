import Foundation
import NomadEngine
import NomadModel
import NomadTransport

/// A new clone tells every other location about itself at once — after `clone accept` or
/// `channel import` — instead of waiting for the node's next delivery pass or heartbeat.
public struct LocationAnnouncer: Sendable {
    public let site: Site
    public let client: SyncClient

    public init(site: Site, client: SyncClient) {
        self.site = site
        self.client = client
    }

    public init(site: Site, transport: any HTTPTransport) {
        self.init(site: site, client: SyncClient(transport: transport, random: site.random, maxDepth: site.limits.maxJSONDepth))
    }

    /// Pushes what is queued (this site's new `location` first) to every live location now,
    /// rather than at the next heartbeat. A location that does not acknowledge gets it from the
    /// outbox later; its delivery state is left alone (a node that is not started yet is not
    /// marked offline). Returns the URLs of the locations that acknowledged everything.
    public func announce(_ channel: HostedChannel) async -> [String] {
        let planner = DeliveryPlanner(site: site, policy: NodeConfiguration().deliveryPolicy)
        let clock = site.clock
        guard let keys = try? site.channelKeys(channel), let targets = try? site.liveLocations(of: channel),
              let me = try? site.identity().siteID else { return [] }
        return await withTaskGroup(of: String?.self) { group in
            for location in targets where location.siteID != me {
                group.addTask {
                    for _ in 0..<16 {
                        guard let action = try? planner.send(channel: channel, to: location) else { return nil }
                        let answer = await client.post(action.body, to: action.urls, keys: keys, keyURL: action.keyURL,
                                                     now: { clock.nowMilliseconds() })
                        guard case .answered = answer, case .acked(_, let more, _)? = try? planner.record(answer, of: action) else {
                            return nil
                        }
                        if !more { return location.url }
                    }
                    return location.url
                }
            }
            var acked: [String] = []
            for await url in group { if let url { acked.append(url) } }
            return acked.sorted()
        }
    }
}
