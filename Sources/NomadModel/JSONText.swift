import Foundation

/// Checks JSON text without re-serialising it: it must parse, and nest no deeper than a limit
/// (a deeply nested document is a cheap way to exhaust a parser's stack).
public enum JSONText {
    public static func validate(_ text: String, what: String, maxDepth: Int) throws {
        try checkDepth(text, what: what, maxDepth: maxDepth)
        // Most documents are plain JSON that the strict scan proves valid without building
        // Foundation objects; for the rest JSONSerialization decides, as before.
        if StrictJSONSyntax.isCertainlyValid(text) { return }
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
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let count = bytes.count
        var depth = 0
        var index = 0
        while index < count {
            switch base[index] {
            case 34:
                // Skip the string with memchr (a packet's payload is one string of ~200 KiB): its
                // end is the first `"` after an even run of backslashes.
                var from = index + 1
                while true {
                    guard let found = memchr(base + from, 34, count - from) else { return }  // unterminated: the parser says so
                    let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    var backslashes = 0
                    while quote - backslashes - 1 > index, base[quote - backslashes - 1] == 92 { backslashes += 1 }
                    from = quote + 1
                    if backslashes % 2 == 0 { break }
                }
                index = from
                continue
            case 91, 123:
                depth += 1
                if depth > maxDepth { throw ModelError.tooLarge("\(what) nests deeper than \(maxDepth) levels") }
            case 93, 125: depth -= 1
            default: break
            }
            index += 1
        }
    }
}
