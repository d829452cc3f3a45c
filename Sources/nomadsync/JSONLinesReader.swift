import Foundation
import NomadModel

/// Reads a JSON-lines file a batch at a time, so a file of any length is never in memory whole
/// (`nomadsync log apply` of a million entries holds one batch). Blank lines are skipped; a line
/// that does not decode, or one longer than `maxLineBytes`, throws with its number.
///
/// ```swift
/// var reader = try JSONLinesReader<ChangeEntry>(path: "a.jsonl", what: "entry")
/// while let batch = try reader.next(500) { … }
/// ```
struct JSONLinesReader<Item: Decodable> {
    let path: String
    let what: String
    let maxLineBytes: Int
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private(set) var lineNumber = 0

    init(path: String, what: String, maxLineBytes: Int = 16 << 20) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot read \(path)") }
        self.path = path
        self.what = what
        self.maxLineBytes = maxLineBytes
        self.handle = handle
    }

    /// The next `count` items at most, or nil at the end of the file.
    mutating func next(_ count: Int) throws -> [Item]? {
        var items: [Item] = []
        while items.count < max(1, count), let line = try nextLine() {
            lineNumber += 1
            guard line.contains(where: { !Self.isBlank($0) }) else { continue }
            do {
                // Entry lines as `log show` writes them skip Foundation's decoder (WireJSONReader).
                if Item.self == ChangeEntry.self, let entry = ChangeEntry.fastWire(line) as? Item {
                    items.append(entry)
                } else {
                    items.append(try WireJSON.decode(Item.self, from: Data(line), what: what))
                }
            } catch {
                throw CLIError("\(path) line \(lineNumber): \(error); nothing was applied")
            }
        }
        return items.isEmpty ? nil : items
    }

    /// Every item of the file (for inputs that are used whole anyway).
    mutating func all() throws -> [Item] {
        var items: [Item] = []
        while let batch = try next(1_000) { items += batch }
        return items
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 }

    private mutating func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let end = buffer[start...].firstIndex(of: 10) {
                defer { start = end + 1 }
                return buffer[start..<end]
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return buffer[start...]
            }
            buffer.removeSubrange(0..<start)
            start = 0
            guard buffer.count <= maxLineBytes else {
                throw CLIError("\(path) line \(lineNumber + 1) is longer than \(maxLineBytes) bytes; nothing was applied")
            }
            let data = try handle.read(upToCount: 1 << 20) ?? Data()
            if data.isEmpty { atEnd = true } else { buffer.append(contentsOf: data) }
        }
    }
}
