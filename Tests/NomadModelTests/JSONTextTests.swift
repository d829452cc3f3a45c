import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// The depth check skips strings with memchr; it must count exactly what a byte-by-byte scan
/// counts, whatever the strings hold.
@Suite struct JSONTextTests {
    /// The byte-by-byte scan: the deepest nesting outside strings.
    static func deepest(_ bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for c in bytes {
            if inString {
                if escaped { escaped = false } else if c == 92 { escaped = true } else if c == 34 { inString = false }
                continue
            }
            switch c {
            case 34: inString = true
            case 91, 123: depth += 1; deepest = max(deepest, depth)
            case 93, 125: depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// The smallest limit `checkDepth` accepts.
    static func limit(_ bytes: [UInt8]) -> Int {
        var limit = 0
        while (try? bytes.withUnsafeBytes { try JSONText.checkDepth(bytes: $0, what: "x", maxDepth: limit) }) == nil { limit += 1 }
        return limit
    }

    @Test(arguments: [
        #"{"a":[1,{"b":"]]]"}]}"#, #"["\"[[[", [["\\"]]]"#, #"["\\\"[[", [1]]"#, #"{"k":"\\\\"}"#, #"[[["#, #""[[[["#, "", #"["a\"]"#,
    ])
    func stringsDoNotCount(text: String) {
        #expect(Self.limit(Array(text.utf8)) == Self.deepest(Array(text.utf8)), "\(text)")
    }

    @Test func randomTextCountsAsTheByteScanCounts() {
        let random = SeededRandom(seed: 21)
        let pieces = Array(#"[]{}"\\ a"#.utf8)
        for _ in 0..<3_000 {
            let bytes = random.bytes(Int(random.bytes(1)[0]) % 60).map { pieces[Int($0) % pieces.count] }
            #expect(Self.limit(bytes) == Self.deepest(bytes), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
