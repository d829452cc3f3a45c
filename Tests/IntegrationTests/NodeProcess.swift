import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768–60999 on Linux).
///
/// Binding port 0 would hand out an ephemeral port, and outgoing connections (every HTTP client
/// in the tests and in the nodes) take their local ports from the same range: between the probe
/// and the node's own bind, a client socket could take the port ("Address already in use"). Ports
/// from 20000–32767 are never given to client sockets; a process-wide counter keeps two nodes of
/// this test run apart, and each candidate is probed with a bind before it is handed out.
func freeLoopbackPort() throws -> Int {
    for _ in 0..<PortCounter.span {
        let port = PortCounter.next()
        if try canBind(port) { return port }
    }
    throw Failure("no free loopback port in \(PortCounter.range)")
}

private enum PortCounter {
    static let range = 20_000..<32_768
    static var span: Int { range.count }
    private static let counter = Mutex(Int.random(in: 0..<range.count))

    static func next() -> Int {
        counter.withLock { n in
            n = (n + 1) % range.count
            return range.lowerBound + n
        }
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` now.
func isListening(_ port: Int) -> Bool {
    (try? withLoopbackSocket(port) { fd, address, length in connect(fd, address, length) == 0 }) ?? false
}

private func canBind(_ port: Int) throws -> Bool {
    try withLoopbackSocket(port) { fd, address, length in bind(fd, address, length) == 0 }
}

/// Runs `body` with a new TCP socket and the address 127.0.0.1:`port`, then closes the socket.
private func withLoopbackSocket(_ port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool) throws -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// One site: its own data directory, a random loopback port, and `nomadsync serve` as a real
/// child process that can be stopped with SIGTERM or killed with SIGKILL.
final class NodeProcess: @unchecked Sendable {
    let name: String
    let cli: CLI
    let port: Int
    /// The admin API's own loopback port (never the federation one).
    let adminPort: Int
    /// The path of the site URL (`/nomad`), empty for none.
    let path: String
    var url: String { "http://127.0.0.1:\(port)\(path)" }
    var adminURL: String { "http://127.0.0.1:\(adminPort)" }
    private var process: Process?

    init(_ name: String, path: String = "") throws {
        self.name = name
        self.path = path
        port = try freeLoopbackPort()
        adminPort = try freeLoopbackPort()
        var cli = CLI(data: tempPath(name))
        cli.environment["NOMADSYNC_PASSPHRASE"] = "integration passphrase"
        self.cli = cli
        try cli.ok(["init", "--url", "http://127.0.0.1:\(port)\(path)"])
    }

    var logPath: String { cli.data + "/serve.log" }

    /// Starts `nomadsync serve` and waits (bounded) until `/health` answers.
    func start(heartbeat: Double = 0.5) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--data", cli.data, "--listen", "127.0.0.1:\(port)", "--heartbeat", String(heartbeat), "--poll", "50",
                             "--admin-listen", "127.0.0.1:\(adminPort)"]
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if (try? await HTTP.get("http://127.0.0.1:\(port)/health"))?.0 == 200 { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure("\(name) did not become healthy; log:\n\(self.log(lines: 20))")
    }

    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM, then waits for a clean exit (bounded); returns the exit status.
    @discardableResult
    func stop() async -> Int32? {
        guard let process, process.isRunning else { return nil }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill9(); return nil }
        self.process = nil
        return process.terminationStatus
    }

    func log(lines: Int) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    func status(_ nick: String = "alice") throws -> [String: Any] { try cli.json(["status", nick, "--json"]) }
    func digest(_ nick: String = "alice") throws -> String { try status(nick)["digest"] as? String ?? "" }

    var adminToken: String {
        get throws { try String(contentsOfFile: cli.data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    func remove() {
        kill9()
        try? FileManager.default.removeItem(atPath: cli.data)
    }
}

/// Plain HTTP from the tests (FoundationNetworking).
enum HTTP {
    static func get(_ url: String, headers: [String: String] = [:], timeout: TimeInterval = 5) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func delete(_ url: String, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 10)
        request.httpMethod = "DELETE"
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func post(_ url: String, body: Data, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

/// Waits (bounded) until `condition` holds; returns the seconds it took or throws with `what`
/// and, when given, what `explain` says about the state at the timeout (so a failure in CI
/// tells which part was missing).
@discardableResult
func eventually(_ what: String, timeout: Double = 30, explain: (() -> String)? = nil,
                _ condition: () throws -> Bool) async throws -> Double {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if (try? condition()) == true { return Date().timeIntervalSince(start) }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw Failure("timed out after \(timeout) s waiting for \(what)" + (explain.map { "; " + $0() } ?? ""))
}
