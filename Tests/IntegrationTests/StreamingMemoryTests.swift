import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import Testing

extension RealProcesses {
    /// `log show`, `log apply`, `channel export` and `channel import` hold a page or a chunk of
    /// the log, not the log: their peak memory barely moves when the log grows tenfold (a coarse
    /// bound; holding every entry grew it by tens of MiB).
    @Suite(.serialized)
    struct StreamingMemoryTests {
        /// A site whose alice holds `count` more entries (bodies of ~1 KiB) and a clone of alice
        /// made before them, both built in this process on a thread of its own.
        static func sites(entries count: Int) async throws -> (source: String, clone: String, empty: String) {
            let source = tempPath("stream-a"), clone = tempPath("stream-b"), empty = tempPath("stream-c")
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                Thread {
                    do {
                        let a = try Site.open(directory: source, create: true, clock: SystemClock(), random: SystemRandom())
                        _ = try a.initialise(url: "https://a.stream.invalid")
                        _ = try a.createChannel(nickname: "alice")
                        let b = try Site.open(directory: clone, create: true, clock: SystemClock(), random: SystemRandom())
                        _ = try b.initialise(url: "https://b.stream.invalid")
                        _ = try b.importDocument(try a.exportDocument(nickname: "alice"))
                        _ = try Site.open(directory: empty, create: true, clock: SystemClock(), random: SystemRandom())
                            .initialise(url: "https://c.stream.invalid")
                        let filler = String(repeating: "x", count: 1_000)
                        for start in stride(from: 0, to: count, by: 500) {
                            _ = try a.append(nickname: "alice", (start..<min(start + 500, count)).map {
                                Change(entity: "item", key: "note-\($0)", op: .put, body: #"{"n":\#($0),"text":"\#(filler)"}"#)
                            })
                        }
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }.start()
            }
            return (source, clone, empty)
        }

        /// The peak resident memory (KiB) of `nomadsync args`, its output to `output`: Python
        /// runs it as its only child and reads the child's getrusage.
        static func peakKiB(_ args: [String], output: String) throws -> Int {
            let script = """
                import resource, subprocess, sys
                with open(sys.argv[1], "wb") as out:
                    code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE).returncode
                if code != 0:
                    sys.exit(code)
                print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, output, CLI.binary] + args
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0, let kib = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Failure("nomadsync \(args.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
            }
            return kib
        }

        struct Peaks {
            var show = 0, apply = 0, export = 0, `import` = 0
            var applied = -1
            var imported = false
        }

        /// Peak KiB of `log show` on the source and of `log apply` of that output on the clone;
        /// of `channel export` on the source and of `channel import` of that file on an empty site.
        static func measure(entries count: Int) async throws -> Peaks {
            let (source, clone, empty) = try await sites(entries: count)
            let file = tempPath("stream.jsonl"), export = tempPath("stream.nomad"), passphrase = tempPath("stream.pass")
            defer { [source, clone, empty, file, export, passphrase].forEach { try? FileManager.default.removeItem(atPath: $0) } }
            try "stream test passphrase\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
            var peaks = Peaks()
            peaks.show = try peakKiB(["log", "show", "alice", "--data", source], output: file)
            peaks.apply = try peakKiB(["log", "apply", "alice", file, "--json", "--data", clone], output: file + ".report")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file + ".report"))) as? [String: Any]
            try? FileManager.default.removeItem(atPath: file + ".report")
            peaks.applied = report?["applied"] as? Int ?? -1
            peaks.export = try peakKiB(["channel", "export", "alice", "-o", export, "--kdf", "interactive",
                                        "--passphrase-file", passphrase, "--data", source], output: file)
            peaks.import = try peakKiB(["channel", "import", export, "--passphrase-file", passphrase, "--data", empty], output: file)
            let c = try Site.open(directory: empty, create: false, clock: SystemClock(), random: SystemRandom())
            peaks.imported = try c.syncStatus(nickname: "alice").entries > count
            return peaks
        }

        @Test func logAndExportCommandsStayFlatWhenTheLogGrowsTenfold() async throws {
            let small = try await Self.measure(entries: 1_500)
            let large = try await Self.measure(entries: 15_000)
            #expect(small.applied >= 1_500 && large.applied >= 15_000, "applied \(small.applied) and \(large.applied)")
            #expect(small.imported && large.imported)
            print("streaming: peak RSS (MiB) for 1,500 → 15,000 entries of ~1 KiB: log show \(small.show / 1024) → \(large.show / 1024), "
                  + "log apply \(small.apply / 1024) → \(large.apply / 1024), channel export \(small.export / 1024) → \(large.export / 1024), "
                  + "channel import \(small.import / 1024) → \(large.import / 1024)")
            // 13,500 more entries are ~14 MiB of bodies alone: holding them would show here.
            #expect(large.show - small.show < 8 * 1024, "log show grew by \(large.show - small.show) KiB")
            #expect(large.apply - small.apply < 8 * 1024, "log apply grew by \(large.apply - small.apply) KiB")
            #expect(large.export - small.export < 8 * 1024, "channel export grew by \(large.export - small.export) KiB")
            #expect(large.import - small.import < 8 * 1024, "channel import grew by \(large.import - small.import) KiB")
        }
    }
}
