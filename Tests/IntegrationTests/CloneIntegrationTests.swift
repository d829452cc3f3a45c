import Foundation
import Testing

extension RealProcesses {
    /// Online bootstrap by ticket between real processes: A serves alice; B and C become clones
    /// with `nomadsync clone accept`.
    @Suite(.serialized)
    struct CloneIntegrationTests {
        /// A running with alice holding `entries` items written in one batch.
        func inviter(entries: Int) async throws -> NodeProcess {
            let a = try NodeProcess("a")
            try a.cli.ok(["channel", "create", "alice", "--name", "Alice"])
            let file = tempPath("changes.jsonl")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let lines = (0..<entries).map { #"{"entity":"item","key":"item-\#($0)","op":"put","body":"{\"n\":\#($0),\"text\":\"entry number \#($0)\"}"}"# }
            try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            try await a.cli.awaitOK(["change", "apply", "alice", "--file", file])
            try await a.start()
            return a
        }

        func locations(_ node: NodeProcess) throws -> [String] {
            (try node.status()["locations"] as? [[String: Any]] ?? []).compactMap { $0["url"] as? String }.sorted()
        }

        @Test func twoNewSitesBecomeClonesByTicketAndEveryoneListsEveryoneAtOnce() async throws {
            let a = try await inviter(entries: 20_000)
            let b = try NodeProcess("b"), c = try NodeProcess("c")
            defer { [a, b, c].forEach { $0.remove() } }
            for node in [b, c] {
                let ticket = try a.cli.ok(["clone", "invite", "alice", "--expires", "10m"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(ticket.hasPrefix("nomadsync-ticket:"))
                let started = Date()
                let accepted = try await node.cli.awaitOK(["clone", "accept", ticket, "--json"])
                let outcome = try JSONSerialization.jsonObject(with: Data(accepted.stdout.utf8)) as? [String: Any] ?? [:]
                print("clone accept on \(node.name): \(outcome["pulled"] ?? "?") entries in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
                #expect(accepted.stderr.contains("progress:"), "no progress lines: \(accepted.stderr.prefix(300))")
                #expect(outcome["announced_to"] as? [String] != [], "the new clone was not pushed to any location")
                try await node.start()
            }
            // Every site lists all three within 2 s of the last accept.
            let seconds = try await eventually("all three sites to list each other", timeout: 2) {
                try [a, b, c].allSatisfy { try locations($0).count == 3 }
            }
            print("clone accept: all three list each other \(String(format: "%.2f", seconds)) s after the last accept")
            try await eventually("equal digests") { try ThreeSiteTests.converged([a, b, c]) }
            #expect(try b.status()["entries"] as? Int ?? 0 >= 20_002)
        }

        @Test func aKilledAcceptResumesAndTheTicketCannotBeUsedTwice() async throws {
            let a = try await inviter(entries: 3_000)
            let b = try NodeProcess("b"), c = try NodeProcess("c")
            defer { [a, b, c].forEach { $0.remove() } }
            let ticket = try a.cli.ok(["clone", "invite", "alice"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            // The first run pulls small pages and is killed part-way.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["clone", "accept", ticket, "--page-size", "5", "--data", b.cli.data]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(1500))
            #expect(process.isRunning, "the first run finished before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let partial = try await b.cli.awaitOK(["log", "show", "alice"]).stdout.split(separator: "\n").count
            #expect(partial > 0 && partial < 3_000, "the killed run left \(partial) entries")
            #expect(try b.cli.run(["channel", "export", "alice", "-o", tempPath("x.nomad")]).status != 0, "a half-made clone is not served")

            let rerun = try JSONSerialization.jsonObject(with: Data(try await b.cli.awaitOK(["clone", "accept", ticket, "--json"]).stdout.utf8))
                as? [String: Any] ?? [:]
            #expect(rerun["pulled"] as? Int == 3_002 - partial, "the rerun pulled \(rerun["pulled"] ?? "?") after \(partial)")
            #expect(try b.digest() == a.digest())

            let second = try await c.cli.awaitRun(["clone", "accept", ticket])
            #expect(second.status != 0 && second.stderr.contains("ticket"), "\(second.stderr)")
            let forged = String(ticket.dropLast(4)) + "AAAA"
            #expect(try c.cli.run(["clone", "accept", forged]).status != 0)
        }

        @Test func theAdminAPIIssuesATicketAndAcceptsOneOnAnotherNode() async throws {
            let a = try await inviter(entries: 100)
            let d = try NodeProcess("d")
            defer { [a, d].forEach { $0.remove() } }
            try await d.start()
            var headers = ["Authorization": "Bearer \(try a.adminToken)", "Content-Type": "application/json"]
            let (code, body) = try await HTTP.post("\(a.adminURL)/api/v1/channels/alice/clones/invite",
                                                   body: Data(#"{"expires_seconds":600}"#.utf8), headers: headers)
            #expect(code == 200, "\(String(decoding: body, as: UTF8.self))")
            let ticket = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["ticket"] as? String ?? ""
            headers["Authorization"] = "Bearer \(try d.adminToken)"
            let accept = try JSONSerialization.data(withJSONObject: ["ticket": ticket])
            let (acceptCode, answer) = try await HTTP.post("\(d.adminURL)/api/v1/clones/accept", body: accept, headers: headers)
            #expect(acceptCode == 200, "\(String(decoding: answer, as: UTF8.self))")
            let outcome = try JSONSerialization.jsonObject(with: answer) as? [String: Any] ?? [:]
            #expect(outcome["pulled"] as? Int == 102)
            try await eventually("A and D to converge") { try a.digest() == d.digest() }
        }
    }
}
