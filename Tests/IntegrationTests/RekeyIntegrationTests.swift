import Foundation
import Testing

extension RealProcesses {
    /// Rekey across three real `nomadsync serve` processes.
    @Suite(.serialized)
    struct RekeyIntegrationTests {
        func discovery(_ node: NodeProcess) async throws -> [String: Any] {
            let (code, body) = try await HTTP.get("\(node.url)/channel/alice", headers: ["Accept": "application/x-zot+json"])
            guard code == 200 else { throw Failure("discovery on \(node.name): \(code)") }
            return try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        }

        @Test(arguments: [true, false])
        func aRekeyOnOneSiteReachesEveryCloneAndWritesStillFlow(update: Bool) async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            let old = try await discovery(a)["portable_id"] as? String ?? ""

            var args = ["channel", "rekey", "alice", "--json"]
            if update { args.append("--update") }
            let outcome = try JSONSerialization.jsonObject(with: Data(try a.cli.ok(args).stdout.utf8)) as? [String: Any] ?? [:]
            let new = outcome["new_portable_id"] as? String ?? ""
            #expect(!new.isEmpty && new != old && outcome["old_portable_id"] as? String == old)

            var seconds = 0.0
            for node in [b, c] {
                seconds = max(seconds, try await eventually("\(node.name) to switch to the new key") {
                    try node.cli.json(["channel", "show", "alice", "--json"])["portable_id"] as? String == new
                })
            }
            print("rekey (update: \(update)): every clone switched within \(String(format: "%.2f", seconds)) s")
            let key = try await discovery(a)["public_key"] as? String
            for node in [b, c] { #expect(try await discovery(node)["public_key"] as? String == key) }

            // B signs with the new key: its write reaches A and C.
            try b.cli.ok(["change", "put", "alice", "item", "after-rekey", "--body", #"{"by":"b"}"#])
            try await eventually("equal digests after a write on B") { try ThreeSiteTests.converged([a, b, c]) }
            #expect(try a.cli.ok(["state", "alice", "--json"]).stdout.contains("after-rekey"))
            #expect(try c.cli.ok(["state", "alice", "--json"]).stdout.contains("after-rekey"))
            let links = try c.cli.ok(["state", "alice", "--entity", "link", "--json"]).stdout.contains(old)
            #expect(links == !update, "a link entry names the old id exactly when the rekey links")
            // Every clone's actor names both ids exactly when they are linked.
            for node in [a, b, c] {
                let (code, body) = try await HTTP.get("\(node.url)/channel/alice", headers: ["Accept": "application/activity+json"])
                let actor = try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
                let aka = actor["alsoKnownAs"] as? [String] ?? []
                #expect(code == 200)
                #expect(aka.contains("urn:nomadsync:portable_id:\(old)") == !update, "\(node.name): \(aka)")
                #expect(aka.contains("urn:nomadsync:portable_id:\(new)") == !update, "\(node.name): \(aka)")
            }
        }

        /// Three converged sites; C is killed, A rekeys with `update`, and B switches. Returns the
        /// sites (the caller removes them) and the new portable_id.
        func rekeyWhileCIsDown() async throws -> (NodeProcess, NodeProcess, NodeProcess, String) {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            do {
                try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
                c.kill9()
                let outcome = try JSONSerialization.jsonObject(with: Data(try a.cli.ok(["channel", "rekey", "alice", "--update", "--json"]).stdout.utf8))
                    as? [String: Any] ?? [:]
                let new = outcome["new_portable_id"] as? String ?? ""
                try await eventually("B to switch") { try b.cli.json(["channel", "show", "alice", "--json"])["portable_id"] as? String == new }
                return (a, b, c, new)
            } catch {
                [a, b, c].forEach { $0.remove() }  // no node outlives a failed setup
                throw error
            }
        }

        /// A clone that missed an `update` rekey still speaks under the old id: the others refuse it
        /// (410 `rekeyed`), and the refusal carries what it needs to switch.
        @Test func theOldIDIsRefusedAfterAnUpdateRekeyAndTheRefusalTeachesTheNewKey() async throws {
            let (a, b, c, new) = try await rekeyWhileCIsDown()
            defer { [a, b, c].forEach { $0.remove() } }
            let push = try c.cli.run(["sync", "push", "alice", "--to", b.url])
            #expect(push.status != 0)
            #expect(push.stderr.contains("410") && push.stderr.contains("replaced by a rekey"), "\(push.stderr)")
            #expect(try c.cli.json(["channel", "show", "alice", "--json"])["portable_id"] as? String == new,
                    "C did not switch from the keys the refusal carried")
        }

        /// C is killed before the rekey reaches it; writes go on; C comes back and switches too.
        @Test func aCloneKilledBeforeTheRekeyConvergesAfterItsRestart() async throws {
            let (a, b, c, new) = try await rekeyWhileCIsDown()
            defer { [a, b, c].forEach { $0.remove() } }
            try b.cli.ok(["change", "put", "alice", "item", "while-c-was-down", "--body", "{}"])
            try await eventually("A and B to converge") { try a.digest() == b.digest() }
            #expect(try c.cli.json(["channel", "show", "alice", "--json"])["portable_id"] as? String != new)

            try await c.start()
            try await eventually("C to switch after its restart", timeout: 60) {
                try c.cli.json(["channel", "show", "alice", "--json"])["portable_id"] as? String == new
            }
            try await eventually("all three equal", timeout: 60) { try ThreeSiteTests.converged([a, b, c]) }
            #expect(try c.cli.ok(["state", "alice", "--json"]).stdout.contains("while-c-was-down"))
            #expect(try c.status()["rekey_pending"] is NSNull)
        }
    }
}
