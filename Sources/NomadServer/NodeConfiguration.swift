import NomadModel

/// How a node runs: where it listens and how often it delivers, heartbeats and catches up.
public struct NodeConfiguration: Sendable {
    /// Where the admin API listens: a TCP address (loopback by default) or a Unix socket.
    public enum AdminListen: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)

        /// `unix:PATH` or `HOST:PORT`.
        public static func parse(_ text: String) throws -> AdminListen {
            if text.hasPrefix("unix:") {
                let path = String(text.dropFirst(5))
                guard !path.isEmpty, path.utf8.count < 100 else {
                    throw ModelError.invalidField("admin-listen", reason: "a Unix socket path must be 1 to 99 bytes")
                }
                return .unix(path: path)
            }
            let (host, port) = try NodeConfiguration.parseListen(text)
            return .tcp(host: host, port: port)
        }
    }

    public var host: String = "127.0.0.1"
    public var port: Int = 8450
    /// The admin API's own listener (never the federation one).
    public var admin: AdminListen = .tcp(host: "127.0.0.1", port: 8451)
    /// Wire limits (body size, entries per packet, entry body size, JSON depth).
    public var limits: WireLimits = .standard
    /// How often each other location gets an empty sync with our vector and digest.
    public var heartbeatMilliseconds: UInt64 = 30_000
    /// How often the delivery worker looks at the outbox (local CLI writes land in the store).
    public var pollMilliseconds: UInt64 = 250
    /// Entries per outbound packet and per catch-up page.
    public var packetEntries: Int = 500
    /// Entry bytes per outbound packet.
    public var packetBytes: Int = 2 * 1024 * 1024
    /// Seconds an outbound request may take.
    public var requestTimeoutSeconds: Double = 15
    /// Accepted distance between a request's Date header and our clock.
    public var dateWindowMilliseconds: UInt64 = 15 * 60 * 1000
    /// How long an `X-Zot-Token` is remembered.
    public var tokenWindowMilliseconds: UInt64 = 30 * 60 * 1000
    /// Retry delays: 1 s doubling up to 1 h, with jitter.
    public var backoffBaseMilliseconds: UInt64 = 1_000
    public var backoffCapMilliseconds: UInt64 = 3_600_000
    /// The longest an idle delivery worker goes without a full pass. Every due time it knows
    /// of wakes it earlier (heartbeats, retries of packets, messages, webhooks, blob fetches);
    /// this is a safety net, and what an idle node with many channels pays for it.
    public var idleRecheckMilliseconds: UInt64 = 60_000
    /// How often the status page's lag chart takes a sample.
    public var statusSampleMilliseconds: UInt64 = 10_000

    public init() {}

    /// Parses `HOST:PORT` (`[::1]:8450` for IPv6).
    public static func parseListen(_ text: String) throws -> (String, Int) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(after: close)...].drop(while: { $0 == ":" })
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            throw ModelError.invalidField("listen", reason: "'\(text.prefix(80))' must be HOST:PORT, for example 127.0.0.1:8450")
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else {
            throw ModelError.invalidField("listen", reason: "'\(text.prefix(80))' must be HOST:PORT with a port from 0 to 65535")
        }
        return (String(hostPart), port)
    }
}
