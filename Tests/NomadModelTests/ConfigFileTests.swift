import Testing
@testable import NomadModel

/// The config file's TOML subset: what it reads, and that anything else is refused with its line.
struct ConfigFileTests {
    @Test func readsSectionsStringsNumbersAndBooleans() throws {
        let config = try ConfigFile(parsing: """
            # a comment
            data = "/var/lib/nomadsync"   # trailing comment
            host_key = '/etc/nomadsync/host.key'

            [delivery]
            poll_ms = 1_000
            heartbeat_seconds = 0.5
            [status]
            enabled = true
            """)
        #expect(try config.string("data") == "/var/lib/nomadsync")
        #expect(try config.string("host_key") == "/etc/nomadsync/host.key")
        #expect(try config.integer("delivery.poll_ms") == 1000)
        #expect(try config.number("delivery.heartbeat_seconds") == 0.5)
        #expect(try config.boolean("status.enabled") == true)
        #expect(try config.string("missing") == nil)
    }

    @Test func basicStringsUnescape() throws {
        let config = try ConfigFile(parsing: #"a = "q\"b\\s\tt\u00e9""#)
        #expect(try config.string("a") == "q\"b\\s\tt\u{e9}")
    }

    @Test func aValueOfTheWrongTypeIsRefusedWithItsLine() throws {
        let config = try ConfigFile(parsing: "\n[delivery]\npoll_ms = \"fast\"\n")
        #expect(throws: ModelError.invalidField("delivery.poll_ms", reason: "must be a number (line 3)")) { try config.number("delivery.poll_ms") }
    }

    @Test(arguments: [
        ("ports = [1, 2]", "arrays"),
        ("a.b = 1", "dotted"),
        ("a = \"open", "not closed"),
        ("a = bare", "not a value"),
        ("a = 1\na = 2", "set twice"),
        ("[[servers]]", "arrays of tables"),
        ("a = 99999999999999999999", "64 bits"),
        ("a = \"\"\"x\"\"\"", "multi-line"),
        ("just words", "key = value"),
        ("a = 1 2", "text after"),
        ("a = \"\\q\"", "unknown escape"),
        ("a = \"\\u12\"", "four hex"),
    ])
    func unsupportedOrBrokenLinesAreRefused(line: String, expected: String) {
        do {
            _ = try ConfigFile(parsing: line)
            Issue.record("'\(line)' was accepted")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func unknownKeysAreListed() throws {
        let config = try ConfigFile(parsing: "listen = \"x\"\nlisen = \"y\"\n")
        #expect(config.unknownKeys(["listen"]) == ["lisen"])
    }

    @Test func anOversizedFileIsRefused() {
        #expect(throws: ModelError.self) { try ConfigFile(parsing: String(repeating: "# x\n", count: 20_000)) }
    }
}
