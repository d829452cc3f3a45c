import Foundation
import NomadCrypto

/// Blob bytes in the data directory, named by their SHA-256: `DATA/blobs/ab/abcdef…` (the first
/// two hex digits make a subdirectory). Nothing lands under a name before its bytes were hashed
/// and found equal to it: new blobs are written to `tmp/`, downloads grow in `partial/`, and a
/// file moves into place only after its hash checked out. Everything streams in chunks, so a
/// blob of any size never sits in memory.
///
/// ```swift
/// let blobs = BlobStore(directory: "/var/lib/nomadsync")
/// let writer = try blobs.writer(maxBytes: 1 << 30)
/// try writer.write(chunk)
/// let (hex, size) = try writer.finish()
/// ```
public struct BlobStore: Sendable {
    public let root: String

    /// `directory` is the data directory (`:memory:` puts blobs in a temporary directory).
    public init(directory: String) {
        root = directory == ":memory:" ? NSTemporaryDirectory() + "nomadsync-blobs-\(UUID().uuidString)" : directory + "/blobs"
    }

    /// 64 lowercase hex digits.
    public static func isValid(_ hex: String) -> Bool {
        hex.utf8.count == 64 && hex.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    func ensureDirectories() throws {
        for dir in [root, root + "/tmp", root + "/partial"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// Where a blob's bytes are (whether or not they are there).
    public func path(_ hex: String) -> String { "\(root)/\(hex.prefix(2))/\(hex)" }
    func partialPath(_ hex: String) -> String { "\(root)/partial/\(hex)" }

    public func has(_ hex: String) -> Bool { Self.isValid(hex) && FileManager.default.fileExists(atPath: path(hex)) }

    /// The blob's size in bytes, when it is here.
    public func size(_ hex: String) -> UInt64? {
        guard Self.isValid(hex), let attributes = try? FileManager.default.attributesOfItem(atPath: path(hex)) else { return nil }
        return (attributes[.size] as? NSNumber)?.uint64Value
    }

    /// Bytes of `hex` downloaded so far (a `Range` request resumes after them).
    public func partialSize(_ hex: String) -> UInt64 {
        guard Self.isValid(hex), let attributes = try? FileManager.default.attributesOfItem(atPath: partialPath(hex)) else { return 0 }
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// A writer for a new blob of at most `maxBytes`.
    public func writer(maxBytes: UInt64) throws -> BlobWriter {
        try ensureDirectories()
        return try BlobWriter(store: self, temporary: "\(root)/tmp/\(UUID().uuidString)", maxBytes: maxBytes)
    }

    /// Appends a downloaded piece (a file) to `hex`'s partial bytes, or replaces them with it
    /// when `replace` (a full answer rather than the requested range), in chunks.
    public func appendPartial(_ hex: String, from file: URL, replace: Bool) throws {
        guard Self.isValid(hex) else { throw StoreError.database("'\(hex.prefix(80))' is not a blob name") }
        try ensureDirectories()
        let target = partialPath(hex)
        if replace || !FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: target)
            _ = FileManager.default.createFile(atPath: target, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let input = try FileHandle(forReadingFrom: file)
        defer { try? input.close() }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
        defer { try? output.close() }
        try output.seekToEnd()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
    }

    /// Hashes `hex`'s partial bytes: equal to the name → moved into place (true); different, or
    /// over `maxBytes` → deleted (false), so a wrong or hostile answer is never kept.
    public func finishPartial(_ hex: String, maxBytes: UInt64) throws -> Bool {
        let source = partialPath(hex)
        if !FileManager.default.fileExists(atPath: source) {  // an empty blob: nothing was downloaded
            try ensureDirectories()
            _ = FileManager.default.createFile(atPath: source, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard partialSize(hex) <= maxBytes else {
            try? FileManager.default.removeItem(atPath: source)
            return false
        }
        var hasher = SHA256Stream()
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update($0) } }
        try? input.close()
        guard Hex.encode(hasher.finish()) == hex else {
            try? FileManager.default.removeItem(atPath: source)
            return false
        }
        try place(source, as: hex)
        return true
    }

    public func discardPartial(_ hex: String) {
        if Self.isValid(hex) { try? FileManager.default.removeItem(atPath: partialPath(hex)) }
    }

    /// Moves a checked file into place (a blob already there stays: the bytes are the same).
    func place(_ source: String, as hex: String) throws {
        let target = path(hex)
        try FileManager.default.createDirectory(atPath: "\(root)/\(hex.prefix(2))", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: source)
            return
        }
        try FileManager.default.moveItem(atPath: source, toPath: target)
    }
}

/// Streams a new blob to disk while hashing it; `finish` names it by its hash.
public final class BlobWriter {
    let store: BlobStore
    let temporary: String
    let handle: FileHandle
    let maxBytes: UInt64
    private var hasher = SHA256Stream()
    public private(set) var size: UInt64 = 0

    init(store: BlobStore, temporary: String, maxBytes: UInt64) throws {
        self.store = store
        self.temporary = temporary
        self.maxBytes = maxBytes
        _ = FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600])
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
    }

    /// Appends bytes; refuses (and discards the blob) past `maxBytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        let (total, overflow) = size.addingReportingOverflow(UInt64(bytes.count))
        guard !overflow, total <= maxBytes else {
            abandon()
            throw StoreError.database("the blob is over the limit of \(maxBytes) bytes")
        }
        hasher.update(bytes)
        try handle.write(contentsOf: Data(bytes))
        size = total
    }

    /// Closes the file and moves it into place under its hash.
    public func finish() throws -> (hex: String, size: UInt64) {
        try handle.close()
        let hex = Hex.encode(hasher.finish())
        try store.place(temporary, as: hex)
        return (hex, size)
    }

    /// Drops what was written.
    public func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temporary)
    }
}
