import Foundation

/// Checks JSON text without re-serialising it: it must parse, and nest no deeper than a limit
/// (a deeply nested document is a cheap way to exhaust a parser's stack).
public enum JSONText {
    public static func validate(_ text: String, what: String, maxDepth: Int) throws {
        try checkDepth(text, what: what, maxDepth: maxDepth)
        do {
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ModelError.malformedJSON("\(what) is not valid JSON")
        }
    }

    /// Counts `[`/`{` nesting outside strings.
    public static func checkDepth(_ text: String, what: String, maxDepth: Int) throws {
        var text = text
        try text.withUTF8 { try checkDepth(bytes: UnsafeRawBufferPointer($0), what: what, maxDepth: maxDepth) }
    }

    /// The same over raw bytes (a packet as it came off the wire), without making a `String`.
    public static func checkDepth(bytes: UnsafeRawBufferPointer, what: String, maxDepth: Int) throws {
        var depth = 0
        var inString = false
        var escaped = false
        for c in bytes {
            if inString {
                if escaped { escaped = false } else if c == 92 { escaped = true } else if c == 34 { inString = false }
                continue
            }
            switch c {
            case 34: inString = true
            case 91, 123:
                depth += 1
                if depth > maxDepth { throw ModelError.tooLarge("\(what) nests deeper than \(maxDepth) levels") }
            case 93, 125: depth -= 1
            default: break
            }
        }
    }
}
