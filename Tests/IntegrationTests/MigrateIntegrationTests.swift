import Foundation
import Testing

extension RealProcesses {
    /// Migrating alice's primary location from A to B across three real processes.
    @Suite(.serialized)
    struct MigrateIntegrationTests {
        func json(_ node: NodeProcess, _ path: String, accept: String) async throws -> [String: Any] {
            let (code, body) = try await HTTP.get("\(node.url)\(path)", headers: ["Accept": accept])
            guard code == 200 else { throw Failure("\(path) on \(node.name): \(code)") }
            return try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        }

        func primaryURLs(_ status: [String: Any]) -> [String] {
            (status["locations"] as? [[String: Any]] ?? []).filter { $0["primary"] as? Bool == true }.compactMap { $0["url"] as? String }
        }

        @Test func afterMigratingAToBADiscoveryNamesBAndCFollows() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            try a.cli.ok(["change", "put", "alice", "item", "before-move", "--body", "{}"])
            try await eventually("equal digests") { try ThreeSiteTests.converged([a, b, c]) }
            // B must have reported everything A holds; heartbeats come every 0.5 s here.
            var migrated: CLI.Result?
            try await eventually("A to accept the migration once B reported") {
                let result = try a.cli.run(["channel", "migrate", "alice", "--to", b.url, "--json"])
                migrated = result
                return result.status == 0
            }
            let outcome = try JSONSerialization.jsonObject(with: Data((migrated?.stdout ?? "").utf8)) as? [String: Any] ?? [:]
            #expect(outcome["moved_to"] as? String == "\(b.url)/channel/alice")

            let discovery = try await json(a, "/channel/alice", accept: "application/x-zot+json")
            let live = (discovery["locations"] as? [[String: Any]] ?? []).filter { $0["deleted"] as? Bool == false }
            #expect(live.filter { $0["primary"] as? Bool == true }.compactMap { $0["url"] as? String } == [b.url])
            let actor = try await json(a, "/channel/alice", accept: "application/activity+json")
            #expect(actor["movedTo"] as? String == "\(b.url)/channel/alice")
            let webfinger = try await json(a, "/.well-known/webfinger?resource=acct:alice@127.0.0.1:\(a.port)", accept: "application/jrd+json")
            #expect((webfinger["links"] as? [[String: Any]] ?? []).allSatisfy { $0["href"] as? String == "\(b.url)/channel/alice" })

            try await eventually("C to follow: B primary, two live locations") {
                let status = try c.status()
                return primaryURLs(status) == [b.url] && (status["locations"] as? [Any])?.count == 2
            }
            try b.cli.ok(["change", "put", "alice", "item", "after-move", "--body", #"{"by":"b"}"#])
            try await eventually("B's write to reach C") { try ThreeSiteTests.converged([b, c], locations: 2) }
            #expect(try c.cli.ok(["state", "alice", "--json"]).stdout.contains("after-move"))
            // A no longer carries the channel: it neither writes nor serves its sync.
            #expect(try a.status()["retired"] as? Bool == true)
            #expect(try a.cli.run(["change", "put", "alice", "item", "late", "--body", "{}"]).stderr.contains("retired"))
        }

        @Test func aMigrationToACloneThatIsBehindIsRefusedWithHowFarBehind() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            c.kill9()
            try a.cli.ok(["change", "put", "alice", "item", "c-lacks-this", "--body", "{}"])
            let refused = try a.cli.run(["channel", "migrate", "alice", "--to", c.url])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("has not caught up"), "\(refused.stderr)")
            #expect(try a.status()["retired"] as? Bool == false)
        }
    }
}
