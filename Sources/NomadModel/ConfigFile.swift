import Foundation

/// A nomadsync configuration file: the subset of TOML a config needs — `# comments`, `[section]`
/// headers, and `key = value` lines whose value is a string (`"basic"` with `\"` `\\` `\n` `\t`
/// `\uXXXX` escapes, or `'literal'`), an integer (`1_000` allowed), a float or a boolean.
/// Anything else (arrays, inline tables, dotted keys, multi-line strings) is refused with the
/// line number, so a typo never passes silently. Keys are looked up as `section.key`.
///
/// ```swift
/// let config = try ConfigFile(parsing: "listen = \"127.0.0.1:8450\"\n[delivery]\npoll_ms = 250\n")
/// config.string("listen")        // "127.0.0.1:8450"
/// try config.integer("delivery.poll_ms") // 250
/// ```
public struct ConfigFile: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
    }

    /// Files over this many bytes are refused.
    public static let maxBytes = 64 * 1024

    public private(set) var values: [String: Value] = [:]
    /// Where each key was set (1-based line), for messages.
    public private(set) var lines: [String: Int] = [:]

    public init() {}

    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maxBytes else { throw ModelError.tooLarge("a config file is limited to \(Self.maxBytes) bytes") }
        var section = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard !line.hasPrefix("[["), let close = line.firstIndex(of: "]") else {
                    throw Self.problem(number, "a section header is [name]; arrays of tables are not supported")
                }
                let name = String(line[line.index(after: line.startIndex)..<close]).trimmingSpaces()
                try Self.checkKey(name, line: number)
                guard Self.isBlankOrComment(line[line.index(after: close)...]) else { throw Self.problem(number, "text after the section header") }
                section = name
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw Self.problem(number, "expected key = value") }
            let key = String(line[..<equals]).trimmingSpaces()
            try Self.checkKey(key, line: number)
            let full = section.isEmpty ? key : section + "." + key
            guard values[full] == nil else { throw Self.problem(number, "'\(full)' is set twice (first on line \(lines[full] ?? 0))") }
            let rest = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
            let (value, tail) = try Self.value(rest, line: number)
            guard Self.isBlankOrComment(tail) else { throw Self.problem(number, "text after the value of '\(full)'") }
            values[full] = value
            lines[full] = number
        }
    }

    /// A string setting, or nil when absent; a value of another type is an error.
    public func string(_ key: String) throws -> String? {
        switch values[key] {
        case nil: return nil
        case .string(let s)?: return s
        default: throw ModelError.invalidField(key, reason: "must be a \"string\" (line \(lines[key] ?? 0))")
        }
    }

    public func integer(_ key: String) throws -> Int64? {
        switch values[key] {
        case nil: return nil
        case .integer(let i)?: return i
        default: throw ModelError.invalidField(key, reason: "must be an integer (line \(lines[key] ?? 0))")
        }
    }

    /// A number setting: integers are taken as well.
    public func number(_ key: String) throws -> Double? {
        switch values[key] {
        case nil: return nil
        case .integer(let i)?: return Double(i)
        case .float(let f)?: return f
        default: throw ModelError.invalidField(key, reason: "must be a number (line \(lines[key] ?? 0))")
        }
    }

    public func boolean(_ key: String) throws -> Bool? {
        switch values[key] {
        case nil: return nil
        case .boolean(let b)?: return b
        default: throw ModelError.invalidField(key, reason: "must be true or false (line \(lines[key] ?? 0))")
        }
    }

    /// Keys set in the file that are not in `known`: a config with a misspelt key is refused.
    public func unknownKeys(_ known: Set<String>) -> [String] { values.keys.filter { !known.contains($0) }.sorted() }

    // MARK: - Parsing

    static func problem(_ line: Int, _ text: String) -> ModelError { .invalidField("config line \(line)", reason: text) }

    static func isBlankOrComment(_ text: Substring) -> Bool {
        let rest = text.drop(while: { $0 == " " || $0 == "\t" })
        return rest.isEmpty || rest.hasPrefix("#")
    }

    static func checkKey(_ key: String, line: Int) throws {
        guard (1...64).contains(key.utf8.count),
              key.utf8.allSatisfy({ (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }) else {
            throw problem(line, "'\(key.prefix(64))' is not a key: use letters, digits, _ and - (dotted and quoted keys are not supported)")
        }
    }

    static func value(_ text: Substring, line: Int) throws -> (Value, Substring) {
        guard let first = text.first else { throw problem(line, "a value is missing after =") }
        switch first {
        case "\"":
            guard !text.hasPrefix("\"\"\"") else { throw problem(line, "multi-line strings are not supported") }
            return try basicString(text.dropFirst(), line: line)
        case "'":
            guard !text.hasPrefix("'''") else { throw problem(line, "multi-line strings are not supported") }
            guard let close = text.dropFirst().firstIndex(of: "'") else { throw problem(line, "the 'string' is not closed") }
            return (.string(String(text[text.index(after: text.startIndex)..<close])), text[text.index(after: close)...])
        case "[", "{":
            throw problem(line, "arrays and inline tables are not supported")
        default:
            let end = text.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "#" }) ?? text.endIndex
            let word = String(text[..<end])
            let tail = text[end...]
            if word == "true" { return (.boolean(true), tail) }
            if word == "false" { return (.boolean(false), tail) }
            let digits = word.replacingOccurrences(of: "_", with: "")
            guard !digits.isEmpty, digits.utf8.count <= 40, !word.hasPrefix("_"), !word.hasSuffix("_"), !word.contains("__") else {
                throw problem(line, "'\(word.prefix(40))' is not a value (strings need quotes)")
            }
            if let integer = Int64(digits) { return (.integer(integer), tail) }
            if digits.utf8.contains(where: { $0 == 46 || $0 == 101 || $0 == 69 }),
               digits.utf8.allSatisfy({ (48...57).contains($0) || $0 == 46 || $0 == 101 || $0 == 69 || $0 == 43 || $0 == 45 }),
               let float = Double(digits), float.isFinite {
                return (.float(float), tail)
            }
            throw problem(line, "'\(word.prefix(40))' is not a value (strings need quotes; integers must fit in 64 bits)")
        }
    }

    static func basicString(_ text: Substring, line: Int) throws -> (Value, Substring) {
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            index = text.index(after: index)
            switch c {
            case "\"":
                return (.string(out), text[index...])
            case "\\":
                guard index < text.endIndex else { throw problem(line, "the \"string\" is not closed") }
                let e = text[index]
                index = text.index(after: index)
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "u":
                    let end = text.index(index, offsetBy: 4, limitedBy: text.endIndex) ?? text.endIndex
                    guard text.distance(from: index, to: end) == 4, let code = UInt32(text[index..<end], radix: 16),
                          let scalar = Unicode.Scalar(code) else {
                        throw problem(line, "\\u needs four hex digits of a valid character")
                    }
                    out.unicodeScalars.append(scalar)
                    index = end
                default: throw problem(line, "unknown escape \\\(e)")
                }
            default:
                out.append(c)
            }
        }
        throw problem(line, "the \"string\" is not closed")
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
