import Foundation
import NomadCrypto
import NomadEngine
import NomadTransport

/// Three-site propagation on loopback against the HTTP round trip: three real `serve` processes
/// clone one channel; a change posted to A's admin API is timed until B and C have committed it
/// (read from their database files, every 0.2 ms). The reference is a bare request to B's
/// `/health`, timed the same way, in the same run.
struct PropagationBench {
    let executable: String
    let changes: Int
    let folder: String

    struct Node {
        let name: String
        let directory: String
        let port: Int
        let adminPort: Int
        var url: String { "http://127.0.0.1:\(port)" }
    }

    func run() async throws -> [BenchRow] {
        let nodes = try (["pa", "pb", "pc"]).map { name in
            Node(name: name, directory: "\(folder)/\(name)", port: try Self.freePort(), adminPort: try Self.freePort())
        }
        let sites = try nodes.map { node -> Site in
            let site = try Site.open(directory: node.directory, create: true)
            _ = try site.initialise(url: node.url)
            return site
        }
        let passphrase = SecureBytes(Array("bench passphrase".utf8))
        _ = try sites[0].createChannel(nickname: "alice")
        let file = try sites[0].exportChannel(nickname: "alice", passphrase: passphrase, strength: .interactive)
        for site in sites.dropFirst() { _ = try site.importChannel(file, passphrase: passphrase) }
        for (i, a) in sites.enumerated() {
            for (j, b) in sites.enumerated() where i != j { _ = try a.replay(nickname: "alice", try b.log(nickname: "alice")) }
        }
        let processes = try nodes.map { node -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve", "--data", node.directory, "--listen", "127.0.0.1:\(node.port)",
                                 "--admin-listen", "127.0.0.1:\(node.adminPort)", "--log-level", "error"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return process
        }
        defer { for process in processes { process.terminate(); process.waitUntilExit() } }
        let http = URLSessionTransport(timeout: 10)
        for node in nodes {
            var healthy = false
            for _ in 0..<200 where !healthy {
                healthy = (try? await http.send(OutboundRequest(method: "GET", url: "\(node.url)/health")))?.status == 200
                if !healthy { try await Task.sleep(for: .milliseconds(25)) }
            }
            guard healthy else { throw BenchError("node \(node.name) did not start") }
        }
        // Let the first heartbeats settle.
        try await Task.sleep(for: .seconds(1))

        // Reference: a bare request to a running node.
        var roundTrips: [Double] = []
        for _ in 0..<max(50, changes * 4) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await http.send(OutboundRequest(method: "GET", url: "\(nodes[1].url)/health"))
            roundTrips.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }

        let token = try String(contentsOfFile: "\(nodes[0].directory)/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let readers = try nodes.dropFirst().map { try RawSQLite(path: "\($0.directory)/nomadsync.sqlite") }
        var latencies: [Double] = []
        for index in 0..<changes {
            let body = Array(#"[{"entity":"item","key":"p-\#(index)","op":"put","body":"{\"n\":\#(index)}"}]"#.utf8)
            let request = OutboundRequest(method: "POST", url: "http://127.0.0.1:\(nodes[0].adminPort)/api/v1/channels/alice/changes",
                                          headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: body)
            let start = DispatchTime.now().uptimeNanoseconds
            let answer = try await http.send(request)
            guard answer.status == 200 else { throw BenchError("posting a change answered \(answer.status)") }
            var pending = Set(readers.indices)
            let deadline = start + 10_000_000_000
            while !pending.isEmpty {
                for i in pending {
                    let has = try readers[i].int64("SELECT count(*) FROM state WHERE entity = 'item' AND key = 'p-\(index)'")
                    if has > 0 {
                        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                        pending.remove(i)
                    }
                }
                guard DispatchTime.now().uptimeNanoseconds < deadline else { throw BenchError("change \(index) did not reach every clone in 10 s") }
                if !pending.isEmpty { try await Task.sleep(for: .microseconds(200)) }
            }
        }
        let rtt = Self.percentile(roundTrips, 0.5)
        let p50 = Self.percentile(latencies, 0.5), p99 = Self.percentile(latencies, 0.99)
        return [
            BenchRow(name: "3-site propagation p50 (admin POST on A → committed on B and C)", unit: "ms", count: latencies.count, ours: p50,
                     raw: rtt, reference: "HTTP round trip p50 (GET /health)"),
            BenchRow(name: "3-site propagation p99", unit: "ms", count: latencies.count, ours: p99, raw: 5 + 3 * rtt,
                     reference: "target: 5 ms + 3 × round trip"),
        ]
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("no socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
