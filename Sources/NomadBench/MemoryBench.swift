import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NomadCrypto
import NomadEngine
import NomadModel

/// Peak memory of the commands that walk a whole log — `log show`, `log apply`, `channel export`,
/// `channel import` — run as real processes of the executable given on a log of `small` and of
/// `large` entries. Streaming means the peak does not grow with the log: the issue's target is
/// the large run within 20% of the small one.
struct MemoryBench {
    let executable: String
    let small: Int
    let large: Int
    let folder: String

    /// Peak RSS (KiB) per command, for one log length.
    struct Peaks {
        var show = 0, apply = 0, export = 0, `import` = 0
    }

    func run() throws -> [BenchRow] {
        let few = try measure(entries: small)
        let many = try measure(entries: large)
        let reference = "the same command on \(small) entries (target ≤ 1.2×)"
        func row(_ command: String, _ ours: Int, _ raw: Int) -> BenchRow {
            BenchRow(name: "peak RSS of \(command), \(large) entries", unit: "MiB", count: large,
                     ours: Double(ours) / 1024, raw: Double(raw) / 1024, reference: reference)
        }
        return [
            row("log show", many.show, few.show),
            row("log apply", many.apply, few.apply),
            row("channel export", many.export, few.export),
            row("channel import", many.import, few.import),
        ]
    }

    /// Builds a source site holding `count` entries of ~250 bytes, a clone of it made before
    /// them and an empty site, then runs the four commands and reads each one's peak.
    func measure(entries count: Int) throws -> Peaks {
        let base = "\(folder)/memory-\(count)"
        let source = "\(base)/a", clone = "\(base)/b", empty = "\(base)/c"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let a = try Site.open(directory: source, create: true)
        _ = try a.initialise(url: "https://a.memory.invalid")
        _ = try a.createChannel(nickname: "ch0")
        let b = try Site.open(directory: clone, create: true)
        _ = try b.initialise(url: "https://b.memory.invalid")
        _ = try b.importDocument(try a.exportDocument(nickname: "ch0"))
        _ = try Site.open(directory: empty, create: true).initialise(url: "https://c.memory.invalid")
        let filler = String(repeating: "x", count: 200)
        for start in stride(from: 0, to: count, by: 1_000) {
            _ = try a.append(nickname: "ch0", (start..<min(start + 1_000, count)).map { i in
                Change(entity: "item", key: "note-\(i)", op: .put, body: #"{"content":"\#(filler)","n":\#(i)}"#)
            })
        }
        let log = "\(base)/log.jsonl", file = "\(base)/ch0.nomad", passphrase = "\(base)/pass", sink = "\(base)/out"
        try "memory bench passphrase\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        var peaks = Peaks()
        peaks.show = try Self.peakKiB(executable, ["log", "show", "ch0", "--data", source], output: log)
        peaks.apply = try Self.peakKiB(executable, ["log", "apply", "ch0", log, "--data", clone], output: sink)
        peaks.export = try Self.peakKiB(executable, ["channel", "export", "ch0", "-o", file, "--kdf", "interactive",
                                                     "--passphrase-file", passphrase, "--data", source], output: sink)
        peaks.import = try Self.peakKiB(executable, ["channel", "import", file, "--passphrase-file", passphrase, "--data", empty],
                                        output: sink)
        for (directory, what) in [(clone, "log apply"), (empty, "channel import")] {
            let entries = try Site.open(directory: directory, create: false).syncStatus(nickname: "ch0").entries
            guard entries > count else { throw BenchError("\(what) left \(entries) entries, not all \(count)") }
        }
        return peaks
    }

    /// Runs `executable arguments` with its output to `output` and returns its peak resident
    /// memory in KiB: the kernel's high-water mark of the process (VmHWM), read every 5 ms until
    /// it exits. (wait4's ru_maxrss would also count this bench's own memory, which the child
    /// shares between posix_spawn and exec.)
    static func peakKiB(_ executable: String, _ arguments: [String], output: String) throws -> Int {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var peak = 0
        while true {
            // Read before reaping: once reaped, the process and its counters are gone.
            if let hwm = highWaterKiB(pid) { peak = max(peak, hwm) }
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            guard reaped == 0 || errno == EINTR else { throw BenchError("waitpid: \(String(cString: strerror(errno)))") }
            usleep(5_000)
        }
        // WIFEXITED and WEXITSTATUS, spelled out (the C macros are not imported).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw BenchError("nomadsync \(arguments.prefix(2).joined(separator: " ")) failed (wait status \(status))")
        }
        guard peak > 0 else { throw BenchError("no memory reading of nomadsync \(arguments.prefix(2).joined(separator: " "))") }
        return peak
    }

    /// VmHWM of a live process (Linux /proc), nil once it has exited.
    static func highWaterKiB(_ pid: pid_t) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
}
