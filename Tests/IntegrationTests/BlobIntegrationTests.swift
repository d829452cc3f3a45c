import Foundation
import Testing

extension RealProcesses {
    /// Files' bytes between real processes: stored on A, fetched by a new clone and by a running one,
    /// each verified against its SHA-256 before it is kept.
    @Suite(.serialized)
    struct BlobIntegrationTests {
        /// Writes `count` pseudo-random bytes (seeded) to a temporary file.
        func file(_ name: String, bytes count: Int, seed: UInt64) throws -> String {
            var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
            var bytes = [UInt8](repeating: 0, count: count)
            for i in bytes.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                bytes[i] = UInt8(truncatingIfNeeded: state)
            }
            let path = tempPath(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }

        func put(_ node: NodeProcess, _ path: String) async throws -> String {
            let out = try await node.cli.awaitOK(["blob", "put", "alice", path]).stdout
            let reference = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
            return String((reference["hash"] as? String ?? "").dropFirst("sha256://".count))
        }

        func stored(_ node: NodeProcess, _ hex: String) -> Data? {
            FileManager.default.contents(atPath: "\(node.cli.data)/blobs/\(hex.prefix(2))/\(hex)")
        }

        @Test func fiftyBlobsReachANewCloneAndALaterOneReachesItRunning() async throws {
            let a = try NodeProcess("a"), b = try NodeProcess("b")
            defer { [a, b].forEach { $0.remove() } }
            try a.cli.ok(["channel", "create", "alice"])
            var originals: [String: String] = [:]  // hex → path
            for i in 0..<50 {
                let size = i % 10 == 0 ? 1_500_000 + i * 30_000 : 1_000 + i * 200
                let path = try file("blob-\(i)", bytes: size, seed: UInt64(i + 1))
                originals[try await put(a, path)] = path
            }
            try await a.start()
            let ticket = try a.cli.ok(["clone", "invite", "alice"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let outcome = try JSONSerialization.jsonObject(with: Data(try await b.cli.awaitOK(["clone", "accept", ticket, "--json"]).stdout.utf8))
                as? [String: Any] ?? [:]
            #expect(outcome["blobs"] as? Int == 50 && outcome["missing_blobs"] as? Int == 0, "\(outcome)")
            for (hex, path) in originals {
                #expect(stored(b, hex) == FileManager.default.contents(atPath: path), "blob \(hex.prefix(12)) differs on B")
            }
            try await b.start()
            // A 20 MiB blob written later: the running node fetches it in ranges.
            let big = try file("big", bytes: 20 << 20, seed: 99)
            let hex = try await put(a, big)
            try await eventually("B to fetch the 20 MiB blob", timeout: 60) { (try b.status()["missing_blobs"] as? Int) == 0 && stored(b, hex) != nil }
            #expect(stored(b, hex) == FileManager.default.contents(atPath: big))
            try await eventually("equal digests") { try a.digest() == b.digest() }
        }

        @Test func bytesThatDoNotMatchTheirNameAreNeverKept() async throws {
            let a = try NodeProcess("a"), b = try NodeProcess("b")
            defer { [a, b].forEach { $0.remove() } }
            try a.cli.ok(["channel", "create", "alice"])
            let hex = try await put(a, try file("good", bytes: 5_000, seed: 7))
            // A's copy is damaged on disk: it now serves other bytes under that name.
            try Data("<html>not the file</html>".utf8).write(to: URL(fileURLWithPath: "\(a.cli.data)/blobs/\(hex.prefix(2))/\(hex)"))
            try await a.start()
            let ticket = try a.cli.ok(["clone", "invite", "alice"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let outcome = try JSONSerialization.jsonObject(with: Data(try await b.cli.awaitOK(["clone", "accept", ticket, "--json"]).stdout.utf8))
                as? [String: Any] ?? [:]
            #expect(outcome["blobs"] as? Int == 0 && outcome["missing_blobs"] as? Int == 1)
            #expect(stored(b, hex) == nil, "B kept bytes that do not hash to their name")
            #expect(try b.cli.ok(["blob", "list", "alice"]).stdout.contains(hex))
        }
    }
}
