import Foundation
import Testing

extension RealProcesses {
    /// The acceptance scenario of a site restored from an old backup: three real nodes, B's data
    /// directory backed up, B writes, the backup is restored, B and A write again — every write
    /// survives on every site, the clones converge, and nothing stays diverged.
    @Suite(.serialized)
    struct RestoreFromBackupTests {
        func keys(_ node: NodeProcess) throws -> Set<String> {
            let out = try node.cli.ok(["state", "alice", "--entity", "item", "--json"]).stdout
            let rows = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
            return Set(rows.compactMap { $0["key"] as? String })
        }

        func put(_ node: NodeProcess, _ key: String) throws {
            try node.cli.ok(["change", "put", "alice", "item", key, "--body", #"{"by":"\#(node.name)"}"#])
        }

        @Test func aSiteRestoredFromABackupHealsAndEveryWriteSurvives() async throws {
            let (a, b, c) = try await ThreeSiteTests.cluster()
            defer { [a, b, c].forEach { $0.remove() } }
            try await eventually("all three sites to know three locations") { try ThreeSiteTests.converged([a, b, c]) }
            try put(a, "before-backup")
            try await eventually("the first write everywhere") { try ThreeSiteTests.converged([a, b, c]) && keys(b).contains("before-backup") }

            // Back up B (stopped, as a file backup of a quiet node), then B writes and everyone gets it.
            #expect(await b.stop() == 0)
            let backup = tempPath("b-backup")
            try FileManager.default.copyItem(atPath: b.cli.data, toPath: backup)
            defer { try? FileManager.default.removeItem(atPath: backup) }
            try await b.start()
            try put(b, "lost-by-restore")
            try await eventually("B's write on A and C") { try keys(a).contains("lost-by-restore") && keys(c).contains("lost-by-restore") }

            // Restore the backup: B has forgotten its last write and will reuse its seq.
            b.kill9()
            try FileManager.default.removeItem(atPath: b.cli.data)
            try FileManager.default.copyItem(atPath: backup, toPath: b.cli.data)
            try put(b, "after-restore")  // written before B hears from anyone: a reused seq
            try await b.start()
            try put(a, "a-after-restore")

            let expected: Set<String> = ["before-backup", "lost-by-restore", "after-restore", "a-after-restore"]
            let seconds = try await eventually("all three converged with every write", timeout: 60) {
                try ThreeSiteTests.converged([a, b, c]) && [a, b, c].allSatisfy { (try? keys($0).isSuperset(of: expected)) == true }
            }
            print("restore from backup: healed and converged in \(String(format: "%.2f", seconds)) s")
            for node in [a, b, c] {
                let status = try node.status()
                #expect(status["diverged"] is NSNull, "\(node.name) is diverged: \(status["diverged"] ?? "")")
                #expect(status["held"] as? Int == 0)
            }
            #expect(b.log(lines: 200).contains("took a new one"), "B's log does not say it healed its writer")
        }
    }
}
