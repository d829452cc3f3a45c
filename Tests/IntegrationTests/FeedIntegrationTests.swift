import Foundation
import Testing

extension RealProcesses {
    /// What a paired server sees through the admin API of real nodes.
    @Suite(.serialized)
    struct FeedIntegrationTests {
        func admin(_ node: NodeProcess) throws -> [String: String] { ["Authorization": "Bearer \(try node.adminToken)"] }

        @Test func aChangePostedTwiceWithOneKeyReachesTheOtherFeedOnceAndWakesItsLongPoll() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            let (_, startBody) = try await HTTP.get("\(b.adminURL)/api/v1/channels/alice/changes", headers: try admin(b))
            let start = (try JSONSerialization.jsonObject(with: startBody) as? [String: Any])?["cursor"] as? String ?? ""

            // B's paired server waits on the feed while A's posts a change (twice, one key).
            let poll = Task { () -> (Int, Data, Double) in
                let began = Date()
                let (code, body) = try await HTTP.get("\(b.adminURL)/api/v1/channels/alice/changes?after=\(start)&wait=20",
                                                      headers: try admin(b), timeout: 30)
                return (code, body, Date().timeIntervalSince(began))
            }
            try await Task.sleep(for: .milliseconds(300))
            let batch = Data(#"[{"entity":"item","key":"from-a-server","op":"put","body":"{\"n\":1}"}]"#.utf8)
            var headers = try admin(a)
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = "a-server-42"
            for _ in 0..<2 {
                let (code, body) = try await HTTP.post("\(a.adminURL)/api/v1/channels/alice/changes", body: batch, headers: headers)
                #expect(code == 200, "\(String(decoding: body, as: UTF8.self))")
            }
            let (code, body, seconds) = try await poll.value
            #expect(code == 200)
            let changes = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["changes"] as? [[String: Any]] ?? []
            #expect(changes.map { $0["key"] as? String } == ["from-a-server"], "\(changes)")
            #expect(seconds < 15, "the long-poll did not return when the change arrived (\(seconds) s)")
            print("feed: B's long-poll returned A's change after \(String(format: "%.2f", seconds)) s")
            try await eventually("equal digests") { try ThreeSiteTests.converged([a, b, c]) }
            let (_, all) = try await HTTP.get("\(c.adminURL)/api/v1/channels/alice/changes?after=\(start)&limit=1000", headers: try admin(c))
            let onC = (try JSONSerialization.jsonObject(with: all) as? [String: Any])?["changes"] as? [[String: Any]] ?? []
            #expect(onC.filter { $0["key"] as? String == "from-a-server" }.count == 1, "the batch was applied more than once")
        }
    }
}
