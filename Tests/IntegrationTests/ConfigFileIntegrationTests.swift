import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension RealProcesses {
    /// `nomadsync serve --config FILE`: the file sets what it names, a NOMADSYNC_* variable beats
    /// the file, a flag beats both, and a mistake stops the command with its line.
    @Suite(.serialized)
    struct ConfigFileIntegrationTests {
        /// Starts `serve` with `args` and `environment`; returns the port whose /health answered
        /// among `ports`, then stops it.
        func servingPort(_ args: [String], environment: [String: String], ports: [Int]) async throws -> Int? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["serve"] + args
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "NOMADSYNC_DATA")
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            defer {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
            for _ in 0..<200 where process.isRunning {
                for port in ports where (try? await HTTP.get("http://127.0.0.1:\(port)/health", timeout: 1))?.0 == 200 { return port }
                try await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }

        @Test func fileThenEnvironmentThenFlag() async throws {
            let data = tempPath("config")
            defer { try? FileManager.default.removeItem(atPath: data) }
            let ports = try (0..<3).map { _ in try freeLoopbackPort() }
            try CLI(data: data).ok(["init", "--url", "http://127.0.0.1:\(ports[0])"])
            let file = data + "/nomadsync.toml"
            try """
                # written by the test
                data = "\(data)"
                listen = "127.0.0.1:\(ports[0])"
                admin_listen = "127.0.0.1:\(try freeLoopbackPort())"
                [delivery]
                poll_ms = 100
                """.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await servingPort(["--config", file], environment: [:], ports: ports) == ports[0])
            #expect(try await servingPort([], environment: ["NOMADSYNC_CONFIG": file, "NOMADSYNC_LISTEN": "127.0.0.1:\(ports[1])"],
                                          ports: ports) == ports[1])
            #expect(try await servingPort(["--config", file, "--listen", "127.0.0.1:\(ports[2])"],
                                          environment: ["NOMADSYNC_LISTEN": "127.0.0.1:\(ports[1])"], ports: ports) == ports[2])
        }

        @Test func aMistakeInTheConfigFileStopsEveryCommandWithItsLine() throws {
            let data = tempPath("config-bad")
            defer { try? FileManager.default.removeItem(atPath: data) }
            let cli = CLI(data: data)
            try cli.ok(["init", "--url", "http://127.0.0.1:9"])
            let file = data + "/bad.toml"
            try "[delivery]\npoll_ms = \"fast\"\n".write(toFile: file, atomically: true, encoding: .utf8)
            let listed = try cli.run(["channel", "list", "--config", file])
            #expect(listed.status != 0)
            let served = try cli.run(["serve", "--config", file])
            #expect(served.status != 0 && served.stderr.contains("line 2"), "\(served.stderr)")
            try "lissten = \"127.0.0.1:1\"\n".write(toFile: file, atomically: true, encoding: .utf8)
            let typo = try cli.run(["channel", "list", "--config", file])
            #expect(typo.status != 0 && typo.stderr.contains("unknown key lissten"), "\(typo.stderr)")
        }
    }
}
