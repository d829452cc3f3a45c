import Foundation
import NomadCrypto
import NomadEngine
import NomadModel
import Testing

extension RealProcesses {
    /// `log show` and `log apply` hold a page of the log, not the log: their peak memory barely
    /// moves when the log grows tenfold (a coarse bound; holding every entry grew it by tens of MiB).
    @Suite(.serialized)
    struct StreamingMemoryTests {
        /// A site whose alice holds `count` more entries (bodies of ~1 KiB) and a clone of alice
        /// made before them, both built in this process on a thread of its own.
        static func sites(entries count: Int) async throws -> (source: String, clone: String) {
            let source = tempPath("stream-a"), clone = tempPath("stream-b")
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                Thread {
                    do {
                        let a = try Site.open(directory: source, create: true, clock: SystemClock(), random: SystemRandom())
                        _ = try a.initialise(url: "https://a.stream.invalid")
                        _ = try a.createChannel(nickname: "alice")
                        let b = try Site.open(directory: clone, create: true, clock: SystemClock(), random: SystemRandom())
                        _ = try b.initialise(url: "https://b.stream.invalid")
                        _ = try b.importDocument(try a.exportDocument(nickname: "alice"))
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
            return (source, clone)
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

        /// Peak KiB of `log show` on the source and of `log apply` of that output on the clone.
        static func measure(entries count: Int) async throws -> (show: Int, apply: Int, applied: Int) {
            let (source, clone) = try await sites(entries: count)
            let file = tempPath("stream.jsonl")
            defer { [source, clone, file].forEach { try? FileManager.default.removeItem(atPath: $0) } }
            let show = try peakKiB(["log", "show", "alice", "--data", source], output: file)
            let apply = try peakKiB(["log", "apply", "alice", file, "--json", "--data", clone], output: file + ".report")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file + ".report"))) as? [String: Any]
            try? FileManager.default.removeItem(atPath: file + ".report")
            return (show, apply, report?["applied"] as? Int ?? -1)
        }

        @Test func logShowAndLogApplyStayFlatWhenTheLogGrowsTenfold() async throws {
            let small = try await Self.measure(entries: 1_500)
            let large = try await Self.measure(entries: 15_000)
            #expect(small.applied >= 1_500 && large.applied >= 15_000, "applied \(small.applied) and \(large.applied)")
            print("streaming: peak RSS of log show \(small.show / 1024) → \(large.show / 1024) MiB, "
                  + "log apply \(small.apply / 1024) → \(large.apply / 1024) MiB for 1,500 → 15,000 entries of ~1 KiB")
            // 13,500 more entries are ~14 MiB of bodies alone: holding them would show here.
            #expect(large.show - small.show < 8 * 1024, "log show grew by \(large.show - small.show) KiB")
            #expect(large.apply - small.apply < 8 * 1024, "log apply grew by \(large.apply - small.apply) KiB")
        }
    }
}
