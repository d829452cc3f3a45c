import ArgumentParser
import Foundation
import NomadCrypto
import NomadEngine
import NomadModel

/// Options every command shares: where the data directory and host key are.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data directory (default ./data; NOMADSYNC_DATA, or data in the config file).", valueName: "dir"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp("Host key file (default DIR/host.key; NOMADSYNC_HOST_KEY, or host_key in the config file).", valueName: "file"))
    var hostKey: String?

    @Option(name: .long, help: ArgumentHelp("Config file (TOML; or NOMADSYNC_CONFIG). Flags beat NOMADSYNC_* variables, which beat the file.", valueName: "file"))
    var config: String?

    /// The settings: flags, then the environment, then the config file.
    func settings() throws -> Settings { try Settings(configPath: config) }

    var directory: String { (try? settings().string("data", flag: data)) ?? nil ?? "./data" }
    var hostKeyPath: String? { (try? settings().string("host_key", flag: hostKey)) ?? nil }

    /// Opens the site in the data directory (which must exist unless `create`).
    func site(create: Bool = false) throws -> Site {
        _ = try settings()  // a config file with a mistake stops every command, with its line
        umask(0o077)  // everything nomadsync writes in the data directory is the owner's only
        let random = SystemRandom()
        return try Site.open(directory: directory, hostKeyPath: hostKeyPath, create: create, clock: SystemClock(), random: random)
    }
}

/// How commands print: one JSON value on stdout, messages on stderr.
enum Output {
    static func json<T: Encodable>(_ value: T, pretty: Bool = false) throws {
        print(try WireJSON.encode(value, pretty: pretty))
    }

    static func message(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Reads a passphrase from a file (first line) or NOMADSYNC_PASSPHRASE.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("File whose first line is the passphrase (or set NOMADSYNC_PASSPHRASE).", valueName: "file"))
    var passphraseFile: String?

    func passphrase() throws -> SecureBytes {
        var text: String
        if let path = passphraseFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read passphrase file \(path)")
            }
            text = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        } else if let env = ProcessInfo.processInfo.environment["NOMADSYNC_PASSPHRASE"] {
            text = env
        } else {
            throw CLIError("a passphrase is needed: --passphrase-file FILE or NOMADSYNC_PASSPHRASE")
        }
        if text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw CLIError("the passphrase is empty") }
        return SecureBytes(Array(text.utf8))
    }
}

/// A failure at run time (an unreadable file, a missing passphrase): printed as `Error: …`
/// without the usage text that argument mistakes get.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
