import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension RealProcesses {
    /// The operator's side of a real `nomadsync serve`: locking, file modes, the admin token, SIGTERM.
    @Suite(.serialized)
    struct OperatorTests {
        /// Runs `nomadsync args…` and waits at most `seconds` for it to exit; nil when it did not.
        func runBounded(_ args: [String], seconds: Double = 10) async throws -> (status: Int32, stderr: String)? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = args
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<Int(seconds * 20) where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }

        @Test func aSecondServeOnTheSameDataDirectoryExitsWithAClearMessage() async throws {
            let a = try NodeProcess("a")
            defer { a.remove() }
            try await a.start()
            let second = try await runBounded(["serve", "--data", a.cli.data, "--listen", "127.0.0.1:\(try freeLoopbackPort())",
                                               "--admin-listen", "127.0.0.1:\(try freeLoopbackPort())"])
            let result = try #require(second, "a second serve on the same data directory kept running")
            #expect(result.status != 0)
            #expect(result.stderr.contains("already running"), "\(result.stderr)")
            #expect(try await HTTP.get("\(a.url)/health").0 == 200)
        }

        func mode(_ path: String) throws -> Int {
            ((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }

        @Test func theDatabaseIsOwnerOnlyEvenInADirectoryOthersCanRead() async throws {
            let dir = tempPath("open-dir")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let cli = CLI(data: dir)
            try cli.ok(["init", "--url", "http://127.0.0.1:9"])
            try cli.ok(["channel", "create", "alice"])
            for file in ["nomadsync.sqlite", "nomadsync.sqlite-wal", "host.key"] where FileManager.default.fileExists(atPath: "\(dir)/\(file)") {
                let m = try mode("\(dir)/\(file)")
                #expect(m & 0o077 == 0, "\(file) is mode \(String(m, radix: 8))")
            }
            let fresh = tempPath("new-dir")
            defer { try? FileManager.default.removeItem(atPath: fresh) }
            try CLI(data: fresh).ok(["init", "--url", "http://127.0.0.1:9"])
            #expect(try mode(fresh) == 0o700)
        }

        @Test func aGroupReadableAdminTokenIsRefused() async throws {
            let a = try NodeProcess("a")
            defer { a.remove() }
            let token = a.cli.data + "/admin.token"
            try "0123456789abcdef0123456789abcdef0123456789\n".write(toFile: token, atomically: true, encoding: .utf8)
            chmod(token, 0o644)
            let result = try #require(try await runBounded(["serve", "--data", a.cli.data, "--listen", "127.0.0.1:\(a.port)",
                                                            "--admin-listen", "127.0.0.1:\(a.adminPort)"]))
            #expect(result.status != 0)
            #expect(result.stderr.contains("readable by others"), "\(result.stderr)")
        }

        @Test func sigtermStopsTheNodeWithinSecondsWhileAPeerHangs() async throws {
            let a = try NodeProcess("a"), b = try NodeProcess("b")
            defer { a.remove(); b.remove() }
            try a.cli.ok(["channel", "create", "alice"])
            let file = tempPath("alice.nomad")
            defer { try? FileManager.default.removeItem(atPath: file) }
            try a.cli.ok(["channel", "export", "alice", "-o", file, "--kdf", "interactive"])
            try b.cli.ok(["channel", "import", file])
            let log = tempPath("b.jsonl")
            defer { try? FileManager.default.removeItem(atPath: log) }
            try b.cli.ok(["log", "show", "alice"]).stdout.write(toFile: log, atomically: true, encoding: .utf8)
            try a.cli.ok(["log", "apply", "alice", log])
            try a.cli.ok(["change", "put", "alice", "item", "k", "--body", "{}"])

            // b's address accepts connections and never answers.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(b.port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            try #require(bound == 0 && listen(fd, 16) == 0)

            try await a.start()
            try await Task.sleep(for: .milliseconds(1500))  // a delivery to b is now in flight (timeout 15 s)
            let started = Date()
            let status = await a.stop()
            let seconds = Date().timeIntervalSince(started)
            #expect(status == 0, "no clean exit on SIGTERM")
            #expect(seconds < 5, "SIGTERM took \(seconds) s while a peer hung")
            // The entry stays queued for the next start.
            let locations = try a.status()["locations"] as? [[String: Any]] ?? []
            #expect(locations.first { $0["url"] as? String == b.url }?["outbox"] as? Int == 1)
        }
    }
}
