/// A JSON syntax check for the common case, so validating an entry's body (every entry a site
/// receives) does not build Foundation objects for every value in it.
///
/// It answers `true` only for text in a strict subset of RFC 8259 that `JSONSerialization`
/// accepts as well: numbers without an exponent and with at most 15 digits before and after
/// the point, no control characters in strings, no `\u` escape of a surrogate, only the four
/// whitespace characters, nothing before or after the value. For anything else it answers
/// `false` and `JSONText.validate` asks `JSONSerialization`, whose answer stands. So what is
/// accepted and refused never depends on this check (the `json-text` fuzz target traps if it
/// ever answers `true` for text `JSONSerialization` refuses).
///
/// ```swift
/// StrictJSONSyntax.isCertainlyValid(#"{"name":"Alice","tags":["a",1.5,null]}"#)  // true
/// StrictJSONSyntax.isCertainlyValid("[1,]")  // false: JSONSerialization decides (it accepts)
/// ```
public enum StrictJSONSyntax {
    /// Deeper nesting is left to `JSONSerialization` (and `JSONText.checkDepth` refuses it first).
    static let maxDepth = 128

    public static func isCertainlyValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = Scanner(bytes: bytes)
            scanner.skipWhitespace()
            guard scanner.value(depth: 0) else { return false }
            scanner.skipWhitespace()
            return scanner.index == bytes.count
        }
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func eat(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func value(depth: Int) -> Bool {
            guard depth < StrictJSONSyntax.maxDepth, index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
            default: return false
            }
        }

        mutating func object(depth: Int) -> Bool {
            index += 1
            skipWhitespace()
            if eat(UInt8(ascii: "}")) { return true }
            while true {
                guard string() else { return false }
                skipWhitespace()
                guard eat(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                guard value(depth: depth + 1) else { return false }
                skipWhitespace()
                if eat(UInt8(ascii: "}")) { return true }
                guard eat(UInt8(ascii: ",")) else { return false }
                skipWhitespace()
            }
        }

        mutating func array(depth: Int) -> Bool {
            index += 1
            skipWhitespace()
            if eat(UInt8(ascii: "]")) { return true }
            while true {
                guard value(depth: depth + 1) else { return false }
                skipWhitespace()
                if eat(UInt8(ascii: "]")) { return true }
                guard eat(UInt8(ascii: ",")) else { return false }
                skipWhitespace()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// A string; bytes from 0x80 up are part of valid UTF-8 (a Swift string holds no other).
        mutating func string() -> Bool {
            guard eat(UInt8(ascii: "\"")) else { return false }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { index += 1; return true }
                if byte < 0x20 { return false }
                guard byte == UInt8(ascii: "\\") else { index += 1; continue }
                index += 1
                guard index < bytes.count else { return false }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard bytes.count - index >= 5 else { return false }
                    var scalar: UInt32 = 0
                    for offset in 1...4 {
                        guard let digit = Self.hexValue(bytes[index + offset]) else { return false }
                        scalar = scalar << 4 | digit
                    }
                    guard !(0xD800...0xDFFF).contains(scalar) else { return false }
                    index += 5
                default:
                    return false
                }
            }
            return false
        }

        /// `-`? (`0` | 1–15 digits) (`.` 1–15 digits)?, no exponent.
        mutating func number() -> Bool {
            _ = eat(UInt8(ascii: "-"))
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits(max: 15) else { return false }
            }
            if eat(UInt8(ascii: ".")) {
                guard digits(max: 15) else { return false }
            }
            guard index < bytes.count else { return true }
            let next = bytes[index]
            return next != UInt8(ascii: "e") && next != UInt8(ascii: "E") && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next)
        }

        /// 1 to `max` decimal digits.
        mutating func digits(max: Int) -> Bool {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index > start && index - start <= max
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
    }
}
