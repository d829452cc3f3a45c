import Foundation
import NomadCrypto

/// The admin API's bearer token: `DATA/admin.token`, 32 random bytes as base64url, mode 0600,
/// made the first time a node starts. Anyone who can read the data directory is an admin.
public enum AdminToken {
    public static func path(directory: String) -> String { (directory as NSString).appendingPathComponent("admin.token") }

    /// Reads the token, creating it if missing.
    public static func loadOrCreate(directory: String, random: any RandomSource) throws -> String {
        let file = path(directory: directory)
        if FileManager.default.fileExists(atPath: file) {
            let mode = ((try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? NSNumber)?.intValue ?? 0
            guard mode & 0o077 == 0 else {
                throw AdminTokenError("\(file) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(file)")
            }
        }
        if let data = FileManager.default.contents(atPath: file) {
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 32 else { throw AdminTokenError("\(file) holds no usable token (delete it to make a new one)") }
            return token
        }
        let token = Base64URL.encode(random.bytes(32))
        guard FileManager.default.createFile(atPath: file, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AdminTokenError("cannot write \(file)")
        }
        return token
    }
}

public struct AdminTokenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
