import Foundation
import Testing

extension RealProcesses {
    /// A portable_id is base64url, so one in 64 begins with '-': the real CLI takes it after '--',
    /// and without '--' refuses it with a usage error (the parser alone would read it as short
    /// flags, and an `h` among them printed the help and exited 0).
    @Suite struct DashedValueTests {
        /// Shaped like a portable_id (86 base64url characters) that begins with '-'.
        static let dashedID = "-B60WbCaXh-6HFI_c2Mbdne4V6Ptb4M201o4RNb050ya_OFLp75JhEh-QWqpgD4Z85dLmccVKLVu4OwuervsQ"

        func site() throws -> CLI {
            let cli = CLI(data: tempPath("dashed"))
            try cli.ok(["init", "--url", "http://127.0.0.1:9"])
            try cli.ok(["channel", "create", "alice"])
            return cli
        }

        func connectionKeys(_ cli: CLI) throws -> [String] {
            let rows = try JSONSerialization.jsonObject(with: Data(try cli.ok(["state", "alice", "--entity", "connection", "--json"]).stdout.utf8))
            return (rows as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        }

        @Test func anIDThatBeginsWithADashIsTakenAfterTheEndOfOptions() throws {
            let cli = try site()
            defer { try? FileManager.default.removeItem(atPath: cli.data) }
            try cli.ok(["change", "put", "alice", "connection", "--body", "{}", "--", Self.dashedID])
            #expect(try connectionKeys(cli) == [Self.dashedID])
            try cli.ok(["change", "delete", "alice", "connection", "--", Self.dashedID])
            #expect(try connectionKeys(cli).isEmpty)
        }

        @Test func anIDThatBeginsWithADashWithoutTheEndOfOptionsFailsWithAHintAndChangesNothing() throws {
            let cli = try site()
            defer { try? FileManager.default.removeItem(atPath: cli.data) }
            let refused = try cli.run(["change", "put", "alice", "connection", Self.dashedID, "--body", "{}"])
            #expect(refused.status == 64, "a usage error: \(refused.stderr)")
            #expect(refused.stderr.contains("begins with '-', so it would be read as options"), "\(refused.stderr)")
            #expect(refused.stderr.contains("-- -B60WbCaXh-6HFI_c2Mb…"), "\(refused.stderr)")
            #expect(try connectionKeys(cli).isEmpty)
        }

        @Test func aWriterIDThatBeginsWithADashIsTakenAsAnOptionsValue() throws {
            let cli = try site()
            defer { try? FileManager.default.removeItem(atPath: cli.data) }
            // A writer id is 22 base64url characters; `--origin` takes it whatever it begins with.
            let heal = try cli.ok(["channel", "heal", "alice", "--origin", "-Ck7zpWYIyKe9ck9cxz7ow", "--after", "0"])
            #expect(heal.stderr.contains("of -Ck7zpWYIyKe9ck9cxz7ow after seq 0"), "\(heal.stderr)")
        }

        @Test func aMistypedOptionGetsNoHint() throws {
            let cli = try site()
            defer { try? FileManager.default.removeItem(atPath: cli.data) }
            let refused = try cli.run(["change", "put", "alice", "item", "k", "--bdy", "{}"])
            #expect(refused.status == 64)
            #expect(refused.stderr.contains("--body"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("begins with '-'"), "\(refused.stderr)")
        }
    }
}
