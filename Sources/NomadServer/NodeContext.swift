import Hummingbird
import NIOCore

/// The request context of a node: Hummingbird's core storage plus the peer address, which the
/// admin API uses to refuse anything that does not come from loopback.
public struct NodeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are collected by the routes themselves, against the node's own limits.
    public var maxUploadSize: Int { 16 * 1024 * 1024 }

    public var isLoopback: Bool {
        guard let address = remoteAddress else { return false }
        switch address {
        case .v4(let a): return a.host.hasPrefix("127.")
        case .v6(let a): return a.host == "::1" || a.host.hasPrefix("::ffff:127.")
        case .unixDomainSocket: return true
        }
    }
}
