import Foundation
import NomadModel

/// Where each setting comes from, strongest first: a command-line flag, a `NOMADSYNC_*`
/// environment variable, the config file (`--config FILE` or `NOMADSYNC_CONFIG`), the default.
/// `ops/nomadsync.example.toml` lists every key.
struct Settings {
    /// Every key a config file may set, with its environment variable.
    static let keys: [String: String] = [
        "data": "NOMADSYNC_DATA",
        "host_key": "NOMADSYNC_HOST_KEY",
        "listen": "NOMADSYNC_LISTEN",
        "admin_listen": "NOMADSYNC_ADMIN_LISTEN",
        "log_level": "NOMADSYNC_LOG_LEVEL",
        "delivery.heartbeat_seconds": "NOMADSYNC_HEARTBEAT_SECONDS",
        "delivery.poll_ms": "NOMADSYNC_POLL_MS",
        "delivery.request_timeout_seconds": "NOMADSYNC_REQUEST_TIMEOUT_SECONDS",
        "delivery.packet_entries": "NOMADSYNC_PACKET_ENTRIES",
        "status.sample_seconds": "NOMADSYNC_STATUS_SAMPLE_SECONDS",
    ]

    /// The keys whose values are strings; the others are numbers.
    static let textKeys: Set<String> = ["data", "host_key", "listen", "admin_listen", "log_level"]

    let file: ConfigFile
    let path: String?
    let environment: [String: String]

    /// Reads the config file named by `flag` or `NOMADSYNC_CONFIG` (none: an empty one).
    init(configPath flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        let path = flag ?? environment["NOMADSYNC_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        self.path = path
        guard let path else {
            file = ConfigFile()
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the config file \(path)") }
        guard data.count <= ConfigFile.maxBytes else { throw CLIError("\(path) is over \(ConfigFile.maxBytes) bytes; is it a config file?") }
        do {
            file = try ConfigFile(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError("\(path): \(error)")
        }
        let unknown = file.unknownKeys(Set(Self.keys.keys))
        guard unknown.isEmpty else {
            throw CLIError("\(path): unknown key\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (see ops/nomadsync.example.toml)")
        }
        // Every value's type is checked now, whichever command runs.
        for key in file.values.keys {
            do {
                if Self.textKeys.contains(key) { _ = try file.string(key) } else { _ = try file.number(key) }
            } catch {
                throw CLIError("\(path): \(error)")
            }
        }
    }

    /// A text setting: the flag, else the environment, else the file, else nil.
    func string(_ key: String, flag: String?) throws -> String? {
        if let flag { return flag }
        if let name = Self.keys[key], let value = environment[name], !value.isEmpty { return value }
        do { return try file.string(key) } catch { throw CLIError("\(path ?? "config"): \(error)") }
    }

    /// A number setting, checked to lie in `range`.
    func number(_ key: String, flag: Double?, range: ClosedRange<Double>) throws -> Double? {
        var value: Double?
        var source = "--" + (key.split(separator: ".").last.map(String.init) ?? key).replacingOccurrences(of: "_", with: "-")
        if let flag {
            value = flag
        } else if let name = Self.keys[key], let text = environment[name], !text.isEmpty {
            guard let parsed = Double(text), parsed.isFinite else { throw CLIError("\(name) must be a number, not '\(text.prefix(40))'") }
            value = parsed
            source = name
        } else {
            do { value = try file.number(key) } catch { throw CLIError("\(path ?? "config"): \(error)") }
            source = "\(key) in \(path ?? "the config file")"
        }
        if let value, !range.contains(value) {
            throw CLIError("\(source) must be between \(Self.plain(range.lowerBound)) and \(Self.plain(range.upperBound)), not \(Self.plain(value))")
        }
        return value
    }

    static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
