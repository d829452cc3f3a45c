import Foundation
import Testing

extension RealProcesses {
    /// Deleting a channel everywhere across three real processes.
    @Suite(.serialized)
    struct PurgeIntegrationTests {
        @Test func deleteEverywhereMakesEveryClone410AndWipesTheChannel() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            try b.cli.ok(["change", "put", "alice", "item", "private", "--body", #"{"text":"secret"}"#])
            try await eventually("equal digests") { try ThreeSiteTests.converged([a, b, c]) }

            let (code, body) = try await HTTP.delete("\(a.adminURL)/api/v1/channels/alice?everywhere=true",
                                                     headers: ["Authorization": "Bearer \(try a.adminToken)"])
            #expect(code == 200, "\(String(decoding: body, as: UTF8.self))")
            let started = Date()
            var gone = false
            while !gone && Date().timeIntervalSince(started) < 30 {  // bounded
                var all = true
                for node in [a, b, c] {
                    all = try await HTTP.get("\(node.url)/channel/alice", headers: ["Accept": "application/x-zot+json"]).0 == 410 && all
                }
                gone = all
                if !gone { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(gone, "not every clone answers 410 for alice")
            let seconds = Date().timeIntervalSince(started)
            print("purge: every clone answered 410 within \(String(format: "%.2f", seconds)) s")
            // The purging site wipes its copy once both clones acknowledged.
            try await eventually("A to wipe alice") { (try? a.cli.run(["status", "alice", "--json"]))?.stderr.contains("deleted everywhere") == true }
            for node in [b, c] {
                let result = try node.cli.run(["log", "show", "alice"])
                #expect(!result.stdout.contains("secret"), "\(node.name) still holds the channel's log")
            }
        }
    }
}
