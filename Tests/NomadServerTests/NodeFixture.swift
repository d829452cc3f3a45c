import Foundation
import Logging
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import ServiceLifecycle
import Synchronization
@testable import NomadEngine
#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on 127.0.0.1 from 10000–19999, below the kernel's ephemeral range: a port
/// probed with bind(0) could be taken by any outgoing connection before the node binds it.
/// The integration tests draw from 20000–32767 in the same process, so the two never meet.
func freePort() throws -> Int {
    for _ in 0..<10_000 {
        let port = nextPort.withLock { n -> Int in
            n = (n + 1) % 10_000
            return 10_000 + n
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TransportError(url: "127.0.0.1", reason: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if bound == 0 { return port }
    }
    throw TransportError(url: "127.0.0.1", reason: "no free port in 10000-19999")
}

private let nextPort = Mutex(Int.random(in: 0..<10_000))

/// A site in a temporary data directory on a clock the test controls.
struct LocalSite {
    let site: Site
    let directory: String
    let clock: ManualClock
    let url: String

    init(url: String, seed: UInt64, clock: ManualClock) throws {
        directory = NSTemporaryDirectory() + "nomadsync-server-test-\(UUID().uuidString)"
        let random = SeededRandom(seed: seed)
        site = try Site.open(directory: directory, create: true, clock: clock, random: random)
        self.clock = clock
        self.url = url
        try site.initialise(url: url)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    var location: Location {
        get throws {
            let channel = try site.channel(nickname: "alice")
            let me = try site.identity().siteID
            return try site.liveLocations(of: channel).first { $0.siteID == me }!
        }
    }

    func digest() throws -> String { try site.channelStatus(nickname: "alice").digest }
}

/// Channel `alice` created on a sender site A (never served) and cloned to B, which runs a real
/// node on a free loopback port. A knows B's location, so A's packets are what a clone sends.
struct ServedPair {
    let a: LocalSite
    let b: LocalSite
    let port: Int
    let adminPort: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let token: String
    var pathPrefix = ""

    static let passphrase = SecureBytes(Array("server test".utf8))

    /// `pathPrefix`: B's site URL has this path (`/nomad`), as behind a reverse proxy.
    static func start(limits: WireLimits = .standard, pathPrefix: String = "") async throws -> ServedPair {
        let clock = ManualClock(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000))
        let port = try freePort()
        let adminPort = try freePort()
        let a = try LocalSite(url: "http://127.0.0.1:\(try freePort())", seed: 11, clock: clock)
        var b = try LocalSite(url: "http://127.0.0.1:\(port)\(pathPrefix)", seed: 12, clock: clock)
        b = LocalSite(copying: b, limits: limits)
        _ = try a.site.createChannel(nickname: "alice")
        _ = try a.site.createChannel(nickname: "mallory")
        let file = try a.site.exportChannel(nickname: "alice", passphrase: passphrase, strength: .interactive)
        _ = try b.site.importChannel(file, passphrase: passphrase)
        // A learns B's location the way it would from B's first packet.
        _ = try a.site.replay(nickname: "alice", try b.site.log(nickname: "alice"))

        var configuration = NodeConfiguration()
        configuration.port = port
        configuration.limits = limits
        configuration.heartbeatMilliseconds = 3_600_000
        let token = try AdminToken.loadOrCreate(directory: b.directory, random: SystemRandom())
        let running = Mutex(false)
        var logger = Logger(label: "test-node")
        logger.logLevel = .critical
        configuration.admin = .tcp(host: "127.0.0.1", port: adminPort)
        let services = NomadNode.services(site: b.site, configuration: configuration, transport: URLSessionTransport(timeout: 2),
                                          adminToken: token, logger: logger, onServerRunning: { _ in running.withLock { $0 = true } })
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let task = Task { try await group.run() }
        for _ in 0..<200 where !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(25)) }
        return ServedPair(a: a, b: b, port: port, adminPort: adminPort, group: group, task: task, token: token, pathPrefix: pathPrefix)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        a.remove()
        b.remove()
    }

    var zot: String { "http://127.0.0.1:\(port)\(pathPrefix)/zot" }

    /// A's signer for alice, as A's delivery worker builds it.
    func signer(nick: String = "alice") throws -> RequestSigner {
        let channel = try a.site.channel(nickname: nick)
        return RequestSigner(keys: try a.site.channelKeys(channel), idURL: "\(a.url)/channel/\(nick)", random: SystemRandom())
    }

    /// A fresh change on A and the sealed packet that carries it to B.
    func packet(_ key: String = "k\(UUID().uuidString.prefix(6))") throws -> Envelope {
        a.clock.advance(by: 1)
        try a.site.append(nickname: "alice", [Change(entity: "item", key: key, op: .put, body: #"{"v":1}"#)])
        return try a.site.nextPacket(channel: "alice", to: try b.location).envelope
    }

    /// Seals `data` from A's site to B as an envelope (for hand-made, possibly bad, content).
    func seal(_ data: SyncData, type: MessageType = .sync, encoding: String = NomadsyncCodec.tag, siteID: SiteID? = nil) throws -> Envelope {
        let bLocation = try b.location
        let sender = data.channel
        let from = try siteID ?? a.site.identity().siteID
        let sealKey = try Base64URL.decode(bLocation.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
        let binding = Envelope.binding(type: type, sender: sender, siteID: from, recipientSiteID: bLocation.siteID)
        let payload = try SealedPayload.seal(Array(try WireJSON.encode(data).utf8), to: sealKey, additionalData: binding, random: SystemRandom())
        return Envelope(type: type, encoding: encoding, sender: sender, siteID: from, recipients: [sender], data: payload)
    }

    func body(_ envelope: Envelope) throws -> [UInt8] { Array(try WireJSON.encode(envelope).utf8) }

    func send(_ request: OutboundRequest) async throws -> (Int, String) {
        let response = try await URLSessionTransport(timeout: 10).send(request)
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }
}

extension LocalSite {
    init(copying other: LocalSite, limits: WireLimits) {
        var site = other.site
        site.limits = limits
        self.site = site
        self.directory = other.directory
        self.clock = other.clock
        self.url = other.url
    }
}
