import Foundation
import Testing

extension RealProcesses {
    /// `rekey`, `refresh` and `purge` messages between two channels on two real processes: alice
    /// on A and carol on C are connections of each other.
    @Suite(.serialized)
    struct ConnectionIntegrationTests {
        func portableID(_ node: NodeProcess, _ nick: String) throws -> String {
            try node.cli.json(["channel", "show", nick, "--json"])["portable_id"] as? String ?? ""
        }

        func connectionKeys(_ node: NodeProcess, _ nick: String) throws -> [String] {
            let rows = try JSONSerialization.jsonObject(with: Data(try node.cli.ok(["state", nick, "--entity", "connection", "--json"]).stdout.utf8))
            return (rows as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        }

        func metrics(_ node: NodeProcess) async throws -> String {
            let (_, body) = try await HTTP.get("\(node.adminURL)/metrics", headers: ["Authorization": "Bearer \(try node.adminToken)"])
            return String(decoding: body, as: UTF8.self)
        }

        /// Both sites' recent log lines, for a failure in CI.
        func logs(_ a: NodeProcess, _ c: NodeProcess) -> String {
            "A's log:\n\(a.log(lines: 40))\nC's log:\n\(c.log(lines: 40))"
        }

        func connectedPair() async throws -> (NodeProcess, NodeProcess) {
            let a = try NodeProcess("a"), c = try NodeProcess("c")
            try a.cli.ok(["channel", "create", "alice", "--name", "Alice"])
            try c.cli.ok(["channel", "create", "carol", "--name", "Carol"])
            let alice = try portableID(a, "alice"), carol = try portableID(c, "carol")
            // An id can begin with '-': it goes after '--'.
            try c.cli.ok(["change", "put", "carol", "connection", "--body", #"{"name":"Alice","url":"\#(a.url)/channel/alice"}"#, "--", alice])
            try a.cli.ok(["change", "put", "alice", "connection", "--body", #"{"name":"Carol","url":"\#(c.url)/channel/carol"}"#, "--", carol])
            try await a.start()
            try await c.start()
            return (a, c)
        }

        @Test func aRekeyWithUpdateMovesEveryConnectionToTheNewIDAndARefreshFollows() async throws {
            let (a, c) = try await connectedPair()
            defer { [a, c].forEach { $0.remove() } }
            let old = try portableID(a, "alice")
            let outcome = try JSONSerialization.jsonObject(with: Data(try a.cli.ok(["channel", "rekey", "alice", "--update", "--json"]).stdout.utf8))
                as? [String: Any] ?? [:]
            let new = outcome["new_portable_id"] as? String ?? ""
            let seconds = try await eventually("carol's connection to move to alice's new id", explain: { logs(a, c) }) { try connectionKeys(c, "carol") == [new] }
            print("rekey message: carol's connection moved within \(String(format: "%.2f", seconds)) s")
            #expect(try !connectionKeys(c, "carol").contains(old))
            // The refresh that follows is verified by fetching alice's discovery document from A.
            var refreshed = false
            for _ in 0..<300 where !refreshed {  // bounded: 30 s
                refreshed = try await metrics(c).contains(#"nomadsync_messages_in_total{type="refresh"}"#)
                if !refreshed { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(refreshed, "C never accepted alice's refresh; C's log:\n\(c.log(lines: 30))")
            try await eventually("A's message queue to drain", explain: { logs(a, c) }) { (try a.status()["messages"] as? Int) == 0 }
        }

        @Test func deletingAChannelEverywhereRemovesItFromItsConnectionsAndUnfriendingRemovesOne() async throws {
            let (a, c) = try await connectedPair()
            defer { [a, c].forEach { $0.remove() } }
            let carol = try portableID(c, "carol")
            // alice unfriends carol: carol's connection to alice goes as well.
            try a.cli.ok(["change", "delete", "alice", "connection", "--", carol])
            try await eventually("carol's connection to alice to go (unfriend)", explain: { logs(a, c) }) { try connectionKeys(c, "carol").isEmpty }

            try c.cli.ok(["change", "put", "carol", "connection", "--body", #"{"url":"\#(a.url)/channel/alice"}"#, "--", try portableID(a, "alice")])
            try a.cli.ok(["change", "put", "alice", "connection", "--body", #"{"url":"\#(c.url)/channel/carol"}"#, "--", carol])
            try a.cli.ok(["channel", "delete", "alice", "--everywhere"])
            try await eventually("carol's connection to the deleted alice to go", explain: { logs(a, c) }) { try connectionKeys(c, "carol").isEmpty }
            try await eventually("A to wipe alice once carol heard", explain: { logs(a, c) }) {
                (try? a.cli.run(["status", "alice", "--json"]))?.stderr.contains("deleted everywhere") == true
            }
        }
    }
}
