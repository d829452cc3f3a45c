import Foundation
import NomadCrypto
import NomadEngine
import NomadHTTPClient
import NomadTransport
import Synchronization

/// Three real `nomadsync serve` processes on loopback that clone the same channels, for the
/// bench rows that need the whole node: propagation and heartbeats.
struct LoopbackCluster {
    struct Node {
        let name: String
        let directory: String
        let port: Int
        let adminPort: Int
        var url: String { "http://127.0.0.1:\(port)" }
        var adminURL: String { "http://127.0.0.1:\(adminPort)" }
        var token: String {
            get throws { try String(contentsOfFile: "\(directory)/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
        }
    }

    let nodes: [Node]
    let processes: [Process]
    /// The client the nodes use themselves (keep-alive connections, NIO): the bench's own
    /// requests cost the two cores it shares with them as little as the nodes' do.
    let http: any HTTPTransport = PooledHTTPTransport(timeout: 10)

    /// The CPU time (utime + stime, clock ticks) the three processes used so far; nil when one
    /// has stopped.
    func cpuTicks() -> Int? {
        let ticks = processes.map { IdleBench.cpuTicks($0.processIdentifier) }
        guard ticks.allSatisfy({ $0 != nil }) else { return nil }
        return ticks.reduce(0) { $0 + ($1 ?? 0) }
    }

    /// Makes three sites under `folder/prefix-*` with `channels` channels cloned on all three
    /// (by export and import), then serves them and waits until each answers /health.
    static func start(executable: String, folder: String, prefix: String, channels: Int, heartbeatSeconds: Double) async throws -> LoopbackCluster {
        let nodes = try ["a", "b", "c"].map { name in
            Node(name: name, directory: "\(folder)/\(prefix)-\(name)", port: try freePort(), adminPort: try freePort())
        }
        let sites = try nodes.map { node -> Site in
            let site = try Site.open(directory: node.directory, create: true)
            _ = try site.initialise(url: node.url)
            return site
        }
        for index in 0..<channels {
            let nick = "ch\(index)"
            _ = try sites[0].createChannel(nickname: nick)
            // The export document without its passphrase container: 100 Argon2 runs would
            // measure the key derivation, not the nodes.
            let document = try sites[0].exportDocument(nickname: nick)
            for site in sites.dropFirst() { _ = try site.importDocument(document) }
            for (i, a) in sites.enumerated() {
                for (j, b) in sites.enumerated() where i != j { _ = try a.replay(nickname: nick, try b.log(nickname: nick)) }
            }
        }
        let processes = try nodes.map { try serve($0, executable: executable, heartbeatSeconds: heartbeatSeconds) }
        let cluster = LoopbackCluster(nodes: nodes, processes: processes)
        for node in nodes {
            do { try await cluster.awaitHealthy(node) } catch {
                cluster.stop()
                throw error
            }
        }
        return cluster
    }

    /// Starts `nomadsync serve` on `node`'s data folder and ports.
    static func serve(_ node: Node, executable: String, heartbeatSeconds: Double) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data", node.directory, "--listen", "127.0.0.1:\(node.port)",
                             "--admin-listen", "127.0.0.1:\(node.adminPort)", "--heartbeat", String(heartbeatSeconds), "--log-level", "error"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (at most 5 s) until `node` answers /health.
    func awaitHealthy(_ node: Node) async throws {
        for _ in 0..<200 {
            if (try? await http.send(OutboundRequest(method: "GET", url: "\(node.url)/health")))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw BenchError("node \(node.name) did not start")
    }

    /// The sum of one counter over `node`'s /metrics (every label set).
    func counter(_ name: String, of node: Node) async throws -> Double {
        let answer = try await http.send(OutboundRequest(method: "GET", url: "\(node.adminURL)/metrics"))
        return String(decoding: answer.body, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .reduce(0) { $0 + (Double($1.split(separator: " ").last ?? "") ?? 0) }
    }

    /// A counter summed over the three nodes.
    func total(_ name: String) async throws -> Double {
        var sum = 0.0
        for node in nodes { sum += try await counter(name, of: node) }
        return sum
    }

    func stop() {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
    }

    /// The heartbeat requests the three nodes have sent so far: site heartbeats
    /// (`nomadsync_site_heartbeats_out_total`) and empty syncs (`nomadsync_packets_out_total{status="heartbeat"}`).
    func heartbeatsSent() async throws -> Double {
        var total = 0.0
        for node in nodes {
            let answer = try await http.send(OutboundRequest(method: "GET", url: "\(node.adminURL)/metrics"))
            let text = String(decoding: answer.body, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("nomadsync_site_heartbeats_out_total")
                || (line.hasPrefix("nomadsync_packets_out_total") && line.contains(#"status="heartbeat""#)) {
                total += Double(line.split(separator: " ").last ?? "") ?? 0
            }
        }
        return total
    }

    static func freePort() throws -> Int {
        for _ in 0..<portRange.count {
            let port = nextPort.withLock { next -> Int in
                next = (next + 1) % portRange.count
                return portRange.lowerBound + next
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw BenchError("no socket") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if bound { return port }
        }
        throw BenchError("no free port in \(portRange.lowerBound)-\(portRange.upperBound - 1)")
    }

    /// Ports for the bench's nodes, probed in turn from a random start: below the kernel's
    /// ephemeral range (32768-60999), where a port found free with bind(0) can be given to any
    /// outgoing connection (a node's own, to a site still down; the bench's) before the node
    /// binds it, and the node does not start. The test suite's nodes, which run beside the
    /// bench's tests, draw from 10000-32767.
    static let portRange = 4_000..<10_000
    private static let nextPort = Mutex(Int.random(in: 0..<portRange.count))
}

/// Heartbeat requests between three idle sites sharing 1 and then K channels: per site pair they
/// do not grow with K (with heartbeats per channel they grew linearly).
struct HeartbeatBench {
    let executable: String
    let channelCounts: [Int]
    let heartbeatSeconds: Double
    let windowSeconds: Double
    let folder: String

    func run() async throws -> [BenchRow] {
        var rows: [BenchRow] = []
        for count in channelCounts {
            let cluster = try await LoopbackCluster.start(executable: executable, folder: folder, prefix: "hb\(count)", channels: count,
                                                          heartbeatSeconds: heartbeatSeconds)
            defer { cluster.stop() }
            try await Task.sleep(for: .seconds(heartbeatSeconds * 2))  // the first round is done
            let before = try await cluster.heartbeatsSent()
            let plannedBefore = try await cluster.total("nomadsync_delivery_channels_planned_total")
            let ticksBefore = cluster.cpuTicks()
            try await Task.sleep(for: .seconds(windowSeconds))
            let ticksAfter = cluster.cpuTicks()
            let after = try await cluster.heartbeatsSent()
            let plannedAfter = try await cluster.total("nomadsync_delivery_channels_planned_total")
            // Scaled to the default 30 s heartbeat, per minute, all three sites together.
            let perMinute = (after - before) / windowSeconds * 60 * (heartbeatSeconds / 30)
            rows.append(BenchRow(name: "heartbeats between 3 idle sites, \(count) shared channel\(count == 1 ? "" : "s")", unit: "requests/min",
                                 count: count, ours: perMinute, raw: nil, reference: "target: the same for any number of channels"))
            if let start = ticksBefore, let end = ticksAfter {
                // Each site's share of a core, averaged over the three, at 30 times the default
                // heartbeat rate: what idle clones cost at most.
                let share = Double(end - start) / Double(sysconf(Int32(_SC_CLK_TCK))) / windowSeconds * 100 / 3
                rows.append(BenchRow(name: "idle clones, \(count) shared channel\(count == 1 ? "" : "s"): CPU per site", unit: "% of a core",
                                     count: count, ours: share, raw: nil, reference: "heartbeats every \(Int(heartbeatSeconds)) s (the default is 30 s)"))
            }
            // How often each site plans each channel per heartbeat interval: 1 when only the
            // round's own pass plans it.
            let rounds = windowSeconds / heartbeatSeconds
            if rounds > 0 {
                rows.append(BenchRow(name: "idle clones, \(count) shared channel\(count == 1 ? "" : "s"): plans per channel and round", unit: "plans",
                                     count: count, ours: (plannedAfter - plannedBefore) / 3 / Double(count) / rounds, raw: nil,
                                     reference: "each site plans each channel this often per heartbeat interval"))
            }
        }
        return rows
    }
}
