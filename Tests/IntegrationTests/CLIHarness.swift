import Foundation

/// Runs the real `nomadsync` binary (built by `swift build`) as a separate process.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["NOMADSYNC_BIN"] { return path }
        // Tests run from .build/<config>/<tests bundle>; the executable sits beside it.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("nomadsync").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/nomadsync").path
        return fallback
    }()

    let data: String
    var environment: [String: String] = [:]

    init(data: String) { self.data = data }

    /// Runs `nomadsync args… --data DIR`, optionally feeding no stdin; returns status and output.
    @discardableResult
    func run(_ args: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        // `--data` goes before a `--` (after it, everything is an argument).
        var arguments = args
        arguments.insert(contentsOf: ["--data", data], at: args.firstIndex(of: "--") ?? args.endIndex)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOMADSYNC_DATA")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs and requires success.
    @discardableResult
    func ok(_ args: [String]) throws -> Result {
        let r = try run(args)
        guard r.status == 0 else { throw Failure("nomadsync \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)") }
        return r
    }

    /// `run` on a thread of its own: a long command (a bootstrap, a big batch) must not hold one
    /// of the few cooperative threads the other tests running at the same time need.
    func awaitRun(_ args: [String]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do { continuation.resume(returning: try run(args)) } catch { continuation.resume(throwing: error) }
            }.start()
        }
    }

    /// `ok` on a thread of its own (see `awaitRun`).
    @discardableResult
    func awaitOK(_ args: [String]) async throws -> Result {
        let r = try await awaitRun(args)
        guard r.status == 0 else { throw Failure("nomadsync \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)") }
        return r
    }

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try ok(args)
        guard let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw Failure("not a JSON object: \(r.stdout)")
        }
        return obj
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func tempPath(_ name: String) -> String { NSTemporaryDirectory() + "nomadsync-it-\(UUID().uuidString)-\(name)" }
