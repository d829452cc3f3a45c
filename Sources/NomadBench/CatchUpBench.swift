import Foundation
import NomadEngine
import NomadModel
import NomadStore
import NomadTransport

/// Catch-up after a restart, against local replay: B was down while A appended N changes; B
/// starts again, then A, and the time runs until B holds all N (real `nomadsync serve`
/// processes on loopback: push, pull, seal, sign, HTTP). The reference replays the same N
/// entries, decoded from wire JSON in pages of 500, into a third clone in this process. B's
/// `nomadsync_entries_received_total` says how many entries it took to get there: each once.
struct CatchUpBench {
    let executable: String
    let entries: Int
    let folder: String
    let page = 500

    func run() async throws -> [BenchRow] {
        let nodes = try ["a", "b"].map { name in
            LoopbackCluster.Node(name: name, directory: "\(folder)/catchup-\(name)", port: try LoopbackCluster.freePort(),
                                 adminPort: try LoopbackCluster.freePort())
        }
        let (a, _) = try sites(nodes)
        let reference = try Site.open(directory: "\(folder)/catchup-reference", create: true)
        _ = try reference.initialise(url: "https://reference.bench.invalid")
        _ = try reference.importDocument(try a.exportDocument(nickname: "ch0"))

        // A writes while B is down.
        let before = try a.log(nickname: "ch0").count
        let filler = String(repeating: "x", count: 160)
        for start in stride(from: 0, to: entries, by: page) {
            _ = try a.append(nickname: "ch0", (start..<min(start + page, entries)).map { i in
                Change(entity: "item", key: "note-\(i)", op: .put, body: #"{"content":"\#(filler)","n":\#(i)}"#)
            })
        }
        let written = Array(try a.log(nickname: "ch0").dropFirst(before))
        let expected = try a.syncStatus(nickname: "ch0").digest

        // The reference: the same entries replayed here, as they come off the wire.
        let lines = try written.map { try WireJSON.encode($0) }
        var applied = 0
        let local = try seconds {
            for start in stride(from: 0, to: lines.count, by: page) {
                applied += try reference.replay(nickname: "ch0", try lines[start..<min(start + page, lines.count)].map {
                    try ChangeEntry.decodeWire($0, what: "entry")
                }).applied
            }
        }
        guard applied == written.count else { throw BenchError("the local replay applied \(applied) of \(written.count) entries") }

        // B restarts, then A: the clock runs from A's start until B has the digest A has.
        let cluster = LoopbackCluster(nodes: nodes, processes: [])
        let processB = try LoopbackCluster.serve(nodes[1], executable: executable, heartbeatSeconds: 30)
        defer { Self.stop(processB) }
        try await cluster.awaitHealthy(nodes[1])
        let began = Date()
        let processA = try LoopbackCluster.serve(nodes[0], executable: executable, heartbeatSeconds: 30)
        defer { Self.stop(processA) }
        let deadline = began.addingTimeInterval(max(120, Double(entries) / 200))
        // B's digest, read from its database file every 20 ms: asking B's admin API for its
        // status every 50 ms cost B 5% of its CPU (the status counts the log), which the
        // measurement then charged to catch-up.
        let database = try RawSQLite(path: "\(nodes[1].directory)/\(Store.databaseName)")
        var caughtUp = false
        while !caughtUp && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            caughtUp = (try? database.text("SELECT lower(hex(digest)) FROM channel WHERE nickname = 'ch0'")) == expected
        }
        let remote = Date().timeIntervalSince(began)
        guard caughtUp else { throw BenchError("B did not catch up with \(entries) entries within \(Int(remote)) s") }
        // The counter moves just after the last commit the digest showed: wait until it stops
        // moving (bounded), so a packet still being counted is not reported as never received.
        var received = try await cluster.counter("nomadsync_entries_received_total", of: nodes[1])
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(100))
            let again = try await cluster.counter("nomadsync_entries_received_total", of: nodes[1])
            if again == received && received >= Double(written.count) { break }
            received = again
        }
        // CPU of each process since it started (its start is a small part): the sender's HTTP
        // client against the receiver's open + replay.
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let senderCPU = Double(IdleBench.cpuTicks(processA.processIdentifier) ?? 0) / hertz
        let receiverCPU = Double(IdleBench.cpuTicks(processB.processIdentifier) ?? 0) / hertz
        let n = Double(written.count)
        return [
            BenchRow(name: "catch-up after a restart (B received \(Int(received)) entries for \(written.count))", unit: "entries/s",
                     count: written.count, ours: n / remote, raw: n / local,
                     reference: "local replay of the same entries; target ≥ 0.9×"),
            BenchRow(name: "catch-up: CPU of the sender (A) per CPU of the receiver (B)", unit: "s / s", count: written.count,
                     ours: senderCPU / max(receiverCPU, 0.001), raw: nil,
                     reference: String(format: "A %.1f s, B %.1f s; target ≤ 1", senderCPU, receiverCPU)),
        ]
    }

    /// Two sites cloning `ch0`, each knowing the other's location, nothing queued between them.
    func sites(_ nodes: [LoopbackCluster.Node]) throws -> (Site, Site) {
        let sites = try nodes.map { node -> Site in
            let site = try Site.open(directory: node.directory, create: true)
            _ = try site.initialise(url: node.url)
            return site
        }
        let (a, b) = (sites[0], sites[1])
        _ = try a.createChannel(nickname: "ch0")
        _ = try b.importDocument(try a.exportDocument(nickname: "ch0"))
        _ = try a.replay(nickname: "ch0", try b.log(nickname: "ch0"))
        _ = try b.replay(nickname: "ch0", try a.log(nickname: "ch0"))
        return (a, b)
    }

    static func stop(_ process: Process) {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
