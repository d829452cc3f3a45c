import Foundation
import NomadEngine

/// An idle node: a site with `channels` channels and no other location, served by a real
/// `nomadsync serve` process (the executable given), measured from /proc for `seconds` after
/// it has started — CPU time as a share of one core, and resident memory.
struct IdleBench {
    let executable: String
    let channels: Int
    let seconds: Double
    let folder: String

    func run() throws -> [BenchRow] {
        let directory = "\(folder)/idle-\(channels)"
        let site = try Site.open(directory: directory, create: true)
        _ = try site.initialise(url: "https://idle.bench.invalid")
        for index in 0..<channels { _ = try site.createChannel(nickname: "ch\(index)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data", directory, "--listen", "127.0.0.1:0", "--log-level", "error"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 2)  // started, first pass done
        guard process.isRunning, let start = Self.cpuTicks(process.processIdentifier) else {
            throw BenchError("the idle node did not start (\(executable) serve)")
        }
        Thread.sleep(forTimeInterval: seconds)
        guard let end = Self.cpuTicks(process.processIdentifier) else { throw BenchError("the idle node stopped") }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let share = Double(end - start) / hertz / seconds * 100
        let rss = Self.residentMiB(process.processIdentifier) ?? 0
        return [
            BenchRow(name: "idle node, \(channels) channel\(channels == 1 ? "" : "s"): CPU", unit: "% of a core", count: channels, ours: share,
                     raw: nil, reference: "target < 1% at 1,000 channels"),
            BenchRow(name: "idle node, \(channels) channel\(channels == 1 ? "" : "s"): memory", unit: "MiB RSS", count: channels, ours: rss,
                     raw: nil, reference: "—"),
        ]
    }

    /// utime + stime of a process, in clock ticks (Linux /proc).
    static func cpuTicks(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    static func residentMiB(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib / 1024
    }
}
