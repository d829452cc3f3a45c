import Foundation
import Testing

extension RealProcesses {
    /// The acceptance scenario of the core, run through the real binary in two data directories.
    @Suite(.serialized) struct TwoSiteCLITests {
        struct Sites {
            let root = tempPath("sites")
            var a: CLI { CLI(data: root + "/a") }
            var b: CLI { CLI(data: root + "/b") }
            var passFile: String { root + "/pass" }

            init() throws {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                try "integration passphrase\n".write(toFile: root + "/pass", atomically: true, encoding: .utf8)
                try a.ok(["init", "--url", "http://127.0.0.1:18461"])
                try b.ok(["init", "--url", "http://127.0.0.1:18462"])
            }

            func remove() { try? FileManager.default.removeItem(atPath: root) }

            /// Channel on A with `changes` local changes, cloned to B by export/import.
            func cloned(changes: Int) throws {
                try a.ok(["channel", "create", "alice", "--name", "Alice"])
                var lines: [String] = []
                for i in 0..<changes {
                    lines.append(#"{"entity":"item","key":"k\#(i % 40)","op":"put","body":"{\"n\":\#(i)}"}"#)
                }
                try lines.joined(separator: "\n").write(toFile: root + "/changes.jsonl", atomically: true, encoding: .utf8)
                try a.ok(["change", "apply", "alice", "--file", root + "/changes.jsonl"])
                try a.ok(["channel", "export", "alice", "-o", root + "/alice.nomad", "--kdf", "interactive", "--passphrase-file", passFile])
                try b.ok(["channel", "import", root + "/alice.nomad", "--passphrase-file", passFile])
            }

            func log(_ cli: CLI) throws -> [String] { try cli.ok(["log", "show", "alice"]).lines }

            func show(_ cli: CLI) throws -> [String: Any] { try cli.json(["channel", "show", "alice", "--json"]) }

            func writeLines(_ lines: [String], _ name: String) throws -> String {
                let path = root + "/" + name
                try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
        }

        @Test func clonesConvergeAfterExchangingShuffledLogsWithDuplicates() throws {
            let s = try Sites(); defer { s.remove() }
            try s.cloned(changes: 300)
            // Different changes on both sides, some on the same keys.
            for i in 0..<25 {
                try s.a.ok(["change", "put", "alice", "item", "k\(i)", "--body", #"{"from":"a","i":\#(i)}"#])
                try s.b.ok(["change", "put", "alice", "item", "k\(i + 10)", "--body", #"{"from":"b","i":\#(i)}"#])
            }
            try s.a.ok(["change", "delete", "alice", "item", "k30"])
            try s.b.ok(["change", "delete", "alice", "item", "k31"])
            var rng = SystemRandomNumberGenerator()
            let fromA = try s.writeLines((try s.log(s.a) + s.log(s.a).prefix(50)).shuffled(using: &rng), "a.jsonl")
            let fromB = try s.writeLines((try s.log(s.b) + s.log(s.b).suffix(50)).shuffled(using: &rng), "b.jsonl")
            try s.b.ok(["log", "apply", "alice", fromA])
            try s.a.ok(["log", "apply", "alice", fromB])
            let showA = try s.show(s.a), showB = try s.show(s.b)
            #expect(showA["digest"] as? String == showB["digest"] as? String)
            #expect(showA["entries"] as? Int == showB["entries"] as? Int)
            #expect(showA["held"] as? Int == 0 && showB["held"] as? Int == 0)
            let stateA = try s.a.ok(["state", "alice", "--json", "--all"]).stdout
            let stateB = try s.b.ok(["state", "alice", "--json", "--all"]).stdout
            #expect(stateA == stateB)
            // Repeating any apply changes nothing.
            let again = try s.b.ok(["log", "apply", "alice", fromA, "--json"]).stdout
            #expect(again.contains(#""applied":0"#))
            #expect(try s.show(s.b)["digest"] as? String == showB["digest"] as? String)
        }

        @Test func aTamperedEntryIsRefusedByIDAndChangesNothing() throws {
            let s = try Sites(); defer { s.remove() }
            try s.cloned(changes: 20)
            try s.a.ok(["change", "put", "alice", "item", "fresh", "--body", #"{"v":1}"#])
            var lines = try s.log(s.a)
            let last = lines.removeLast()
            let tampered = last.replacingOccurrences(of: #"{\"v\":1}"#, with: #"{\"v\":2}"#)
            #expect(tampered != last)
            let file = try s.writeLines(lines + [tampered], "tampered.jsonl")
            let before = try s.show(s.b)
            let r = try s.b.run(["log", "apply", "alice", file])
            #expect(r.status != 0)
            #expect(r.stderr.contains("does not match its content"))
            let after = try s.show(s.b)
            #expect(after["digest"] as? String == before["digest"] as? String)
            #expect(after["entries"] as? Int == before["entries"] as? Int)
        }

        @Test func aReusedSeqIsRefusedAsAForkAndChangesNothing() throws {
            let s = try Sites(); defer { s.remove() }
            try s.cloned(changes: 5)
            try s.a.ok(["change", "put", "alice", "item", "x", "--body", #"{"v":1}"#])
            try s.b.ok(["log", "apply", "alice", try s.writeLines(try s.log(s.a), "a.jsonl")])
            let before = try s.show(s.b)
            // A forged entry reusing the last (origin, seq) with other content and a correct id.
            let last = try JSONSerialization.jsonObject(with: Data(try s.log(s.a).last!.utf8)) as! [String: Any]
            let forged = try forgeEntry(origin: last["origin"] as! String, seq: last["seq"] as! Int, hlc: last["hlc"] as! String,
                                        entity: "item", key: "x", body: #"{"v":"forged"}"#)
            let r = try s.b.run(["log", "apply", "alice", try s.writeLines([forged], "fork.jsonl")])
            #expect(r.status != 0)
            #expect(r.stderr.contains("fork"))
            let after = try s.show(s.b)
            #expect(after["digest"] as? String == before["digest"] as? String)
            #expect(after["diverged"] is NSNull, "a refused fork must not raise the diverged alarm")
        }

        @Test func anEntryOverAnHourInTheFutureIsRefused() throws {
            let s = try Sites(); defer { s.remove() }
            try s.cloned(changes: 5)
            let origin = try JSONSerialization.jsonObject(with: Data(try s.log(s.a).last!.utf8)) as! [String: Any]
            let twoHours = UInt64(Date().timeIntervalSince1970 * 1000) + 2 * 3_600_000
            let hlc = String(twoHours << 16, radix: 16)
            let future = try forgeEntry(origin: origin["origin"] as! String, seq: (origin["seq"] as! Int) + 1,
                                        hlc: String(repeating: "0", count: 16 - hlc.count) + hlc, entity: "item", key: "f", body: "{}")
            let before = try s.show(s.b)
            let r = try s.b.run(["log", "apply", "alice", try s.writeLines([future], "future.jsonl")])
            #expect(r.status != 0)
            #expect(r.stderr.contains("future"))
            #expect(try s.show(s.b)["digest"] as? String == before["digest"] as? String)
        }

        @Test func aWrongPassphraseImportsNothing() throws {
            let s = try Sites(); defer { s.remove() }
            try s.a.ok(["channel", "create", "alice"])
            try s.a.ok(["channel", "export", "alice", "-o", s.root + "/alice.nomad", "--kdf", "interactive", "--passphrase-file", s.passFile])
            var b = s.b
            b.environment["NOMADSYNC_PASSPHRASE"] = "not it"
            let r = try b.run(["channel", "import", s.root + "/alice.nomad"])
            #expect(r.status != 0 && r.stderr.contains("wrong passphrase"))
            #expect(try s.b.ok(["channel", "list"]).stdout.isEmpty)
        }

        @Test func badInputGetsAClearErrorAndAFailureStatus() throws {
            let s = try Sites(); defer { s.remove() }
            let badNick = try s.a.run(["channel", "create", "Not Valid"])
            #expect(badNick.status != 0 && badNick.stderr.contains("nickname"))
            let noChannel = try s.a.run(["change", "put", "nobody", "item", "k", "--body", "{}"])
            #expect(noChannel.status != 0 && noChannel.stderr.contains("no channel 'nobody'"))
            try s.a.ok(["channel", "create", "alice"])
            let badBody = try s.a.run(["change", "put", "alice", "item", "k", "--body", "{nope"])
            #expect(badBody.status != 0 && badBody.stderr.contains("JSON"))
            let noSite = try CLI(data: s.root + "/missing").run(["channel", "list"])
            #expect(noSite.status != 0 && noSite.stderr.contains("nomadsync init"))
            let badURL = try CLI(data: s.root + "/never").run(["init", "--url", "ftp://x"])
            #expect(badURL.status != 0 && badURL.stderr.contains("https://"))
            #expect(!FileManager.default.fileExists(atPath: s.root + "/never"))
        }
    }
}

/// Builds an entry with a correct content id, as a misbehaving site would: BLAKE2b-256 over the
/// length-prefixed fields, computed here with the Python standard library so the test does not
/// share code with the implementation it checks.
func forgeEntry(origin: String, seq: Int, hlc: String, entity: String, key: String, body: String) throws -> String {
    let script = """
    import base64, hashlib, json, struct, sys
    o, seq, hlc, entity, key, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
    def t(s):
        b = s.encode(); return struct.pack(">I", len(b)) + b
    data = t("nomadsync/entry/1") + t(o) + struct.pack(">Q", seq) + struct.pack(">Q", int(hlc, 16)) + t(entity) + t(key) + t("put") + t(body)
    i = base64.urlsafe_b64encode(hashlib.blake2b(data, digest_size=32).digest()).rstrip(b"=").decode()
    print(json.dumps({"id": i, "origin": o, "seq": seq, "hlc": hlc, "entity": entity, "key": key, "op": "put", "body": body}))
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, origin, String(seq), hlc, entity, key, body]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw Failure("python3 could not forge an entry") }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
