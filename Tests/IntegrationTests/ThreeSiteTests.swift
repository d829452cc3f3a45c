import Foundation
import Testing

extension RealProcesses {
    /// Three real `nomadsync serve` processes on loopback with three data directories.
    @Suite(.serialized)
    struct ThreeSiteTests {
        /// alice created on A, cloned to B and C by export/import; all three serving.
        /// `path`: every site URL carries it (`http://127.0.0.1:PORT/nomad`).
        static func cluster(path: String = "") async throws -> (NodeProcess, NodeProcess, NodeProcess) {
            let a = try NodeProcess("a", path: path), b = try NodeProcess("b", path: path), c = try NodeProcess("c", path: path)
            try a.cli.ok(["channel", "create", "alice", "--name", "Alice"])
            let file = tempPath("alice.nomad")
            defer { try? FileManager.default.removeItem(atPath: file) }
            try await a.cli.awaitOK(["channel", "export", "alice", "-o", file, "--kdf", "interactive"])
            try await b.cli.awaitOK(["channel", "import", file])
            try await c.cli.awaitOK(["channel", "import", file])
            try await a.start()
            try await b.start()
            try await c.start()
            return (a, b, c)
        }

        static func converged(_ nodes: [NodeProcess], locations: Int = 3) throws -> Bool {
            let statuses = try nodes.map { try $0.status() }
            let digests = Set(statuses.map { $0["digest"] as? String ?? "" })
            return digests.count == 1 && statuses.allSatisfy { ($0["locations"] as? [Any])?.count == locations }
        }

        @Test func changesMadeOnEverySiteConverge() async throws {
            let (a, b, c) = try await Self.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            // Each clone announces itself: every site learns all three locations.
            try await eventually("all three sites to know three locations") { try Self.converged([a, b, c]) }

            try a.cli.ok(["change", "put", "alice", "item", "from-a", "--body", #"{"by":"a"}"#])
            try b.cli.ok(["change", "delete", "alice", "profile", "profile"])
            let batch = Data(#"{"changes":[{"entity":"item","key":"from-c","op":"put","body":"{\"by\":\"c\"}"}]}"#.utf8)
            let (code, answer) = try await HTTP.post("\(c.adminURL)/api/v1/channels/alice/changes", body: batch,
                                                     headers: ["Authorization": "Bearer \(try c.adminToken)", "Content-Type": "application/json"])
            #expect(code == 200, "\(String(decoding: answer, as: UTF8.self))")
            let seconds = try await eventually("equal digests after changes on A, B and C") { try Self.converged([a, b, c]) }
            print("propagation: changes on three sites converged in \(String(format: "%.2f", seconds)) s")

            let state = try b.cli.ok(["state", "alice", "--json"]).stdout
            #expect(state.contains("from-a") && state.contains("from-c"))
            try await eventually("every location online in A's status") {
                let locations = try a.status()["locations"] as? [[String: Any]] ?? []
                return locations.count == 3 && locations.allSatisfy { $0["state"] as? String == "online" }
            }
            for node in [a, b, c] {
                let status = await node.stop()
                #expect(status == 0, "\(node.name) did not stop cleanly on SIGTERM (exit status \(status.map(String.init) ?? "none: still running after 10 s")); log:\n\(node.log(lines: 20))")
            }
        }

        @Test func theAdminAPIWantsTheTokenAndValidatesBeforeWriting() async throws {
            let a = try NodeProcess("a")
            defer { a.remove() }
            try a.cli.ok(["channel", "create", "alice"])
            try await a.start()
            let before = try a.digest()
            let url = "\(a.adminURL)/api/v1/channels/alice/changes"
            let good = Data(#"[{"entity":"item","key":"1","op":"put","body":"{}"}]"#.utf8)
            #expect(try await HTTP.post(url, body: good).0 == 401)
            #expect(try await HTTP.post(url, body: good, headers: ["Authorization": "Bearer wrong"]).0 == 401)
            let auth = ["Authorization": "Bearer \(try a.adminToken)"]
            let bad = Data(#"[{"entity":"item","key":"1","op":"put","body":"{}"},{"entity":"item","key":"2","op":"put","body":"{not json"}]"#.utf8)
            let (code, body) = try await HTTP.post(url, body: bad, headers: auth)
            #expect(code == 400, "\(String(decoding: body, as: UTF8.self))")
            #expect(try a.digest() == before, "a refused batch wrote something")
            #expect(try await HTTP.post(url, body: good, headers: auth).0 == 200)
            #expect(try a.digest() != before)
            let (statusCode, status) = try await HTTP.get("\(a.adminURL)/api/v1/channels/alice", headers: auth)
            #expect(statusCode == 200)
            let json = try JSONSerialization.jsonObject(with: status) as? [String: Any]
            #expect(json?["digest"] as? String == (try a.digest()))
        }

        @Test func aCloneKilledWhileOthersWriteCatchesUpEvenWithTheOriginDown() async throws {
            let (a, b, c) = try await Self.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try Self.converged([a, b, c]) }

            c.kill9()
            for (node, prefix) in [(a, "a"), (b, "b")] {
                let file = tempPath("\(prefix).jsonl")
                let lines = (0..<1000).map { #"{"entity":"item","key":"\#(prefix)-\#($0)","op":"put","body":"{\"n\":\#($0)}"}"# }
                try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
                try node.cli.ok(["change", "apply", "alice", "--file", file])
                try? FileManager.default.removeItem(atPath: file)
            }
            try await eventually("A and B to converge", timeout: 60) { try a.digest() == b.digest() }

            // The origin of half the entries goes down before C comes back: C must get A's entries from B.
            a.kill9()
            let started = Date()
            try await c.start()
            let seconds = try await eventually("C to catch up from B", timeout: 90) { try c.digest() == b.digest() }
            let total = Date().timeIntervalSince(started)
            print("catch-up: 2000 entries on C in \(String(format: "%.2f", seconds)) s after healthy (\(String(format: "%.2f", total)) s from start), \(Int(2000 / max(total, 0.001))) entries/s")
            let entries = try c.status()["entries"] as? Int ?? 0
            #expect(entries == (try b.status()["entries"] as? Int ?? -1))

            // A died with its own 1000 entries still queued for C: the queue is in A's store...
            func queuedForC() throws -> Int {
                let locations = try a.status()["locations"] as? [[String: Any]] ?? []
                return locations.first { $0["url"] as? String == c.url }?["outbox"] as? Int ?? -1
            }
            #expect(try queuedForC() == 1000)
            // ...and is delivered (and acknowledged, as duplicates) once A is back.
            try await a.start()
            try await eventually("all three equal after A returns", timeout: 60) { try Self.converged([a, b, c]) }
            try await eventually("A's outbox for C to drain after its restart", timeout: 60) { try queuedForC() == 0 }
        }

        /// Sites whose URLs carry a path, as when nomadsync shares a domain with a hub that owns the
        /// root: discovery, sync and catch-up all work under it.
        @Test func sitesWithAPathInTheirURLConverge() async throws {
            let (a, b, c) = try await Self.cluster(path: "/nomad")
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try Self.converged([a, b, c]) }
            try b.cli.ok(["change", "put", "alice", "item", "under-a-path", "--body", "{}"])
            try await eventually("equal digests") { try Self.converged([a, b, c]) }
            #expect(try c.cli.ok(["state", "alice", "--json"]).stdout.contains("under-a-path"))
            let (code, _) = try await HTTP.get("\(a.url)/channel/alice", headers: ["Accept": "application/x-zot+json"])
            #expect(code == 200)
        }
    }
}
