/// What a `file` entry's body says about its bytes (docs/PROTOCOL.md §12): a JSON object with
/// `"hash":"sha256://<64 lowercase hex>"` and, optionally, `"size"` (bytes) and `"name"`.
/// ```json
/// {"hash":"sha256://9f86d0…","name":"photo.jpg","size":48213}
/// ```
public struct FileReference: Sendable, Equatable, Codable {
    public static let scheme = "sha256://"

    public var hash: String
    public var size: UInt64?
    public var name: String?

    public init(hex: String, size: UInt64?, name: String?) {
        hash = Self.scheme + hex
        self.size = size
        self.name = name
    }

    /// The 64 hex digits of the SHA-256 the bytes must have.
    public var hex: String { String(hash.dropFirst(Self.scheme.count)) }

    /// Reads a `file` body; nil when it names no blob in this form (other fields are kept as
    /// they are, and ignored here).
    public static func parse(_ body: String) -> FileReference? {
        guard let reference = try? WireJSON.decode(FileReference.self, from: body, what: "file", maxDepth: 64),
              reference.hash.hasPrefix(scheme) else { return nil }
        let hex = reference.hex
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        return reference
    }
}
