/// Finds, in the bytes of a JSON string's content, the next byte a writer must escape and a
/// reader must look at: `"`, `\` or a control character (below 0x20). Everything else — ASCII,
/// and every byte of a multi-byte UTF-8 sequence, which are all 0x80 or above — passes as it is.
///
/// The wire's long strings (a sync packet's ~270 KB of base64 ciphertext, an entry's body) are
/// almost entirely such bytes, so the scan looks at eight of them at a time: a word with none of
/// the three is passed whole, and only a word with one is looked at byte by byte.
///
/// ```swift
/// let stop = JSONStringScan.nextSpecial(in: buffer, from: start)  // == buffer.count: none left
/// ```
enum JSONStringScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first byte at or after `start` that is `"`, `\` or below 0x20;
    /// `bytes.count` when there is none.
    static func nextSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while bytes.count - index >= 8 {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if hasSpecial(word) { break }
                index += 8
            }
        }
        while index < bytes.count, !isSpecial(bytes[index]) { index += 1 }
        return index
    }

    /// Whether every byte is below 0x80 (then the bytes are valid UTF-8 as they are), looked at
    /// a word at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        var bits: UInt64 = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while bytes.count - index >= 8 {
                bits |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
        }
        while index < bytes.count {
            bits |= UInt64(bytes[index])
            index += 1
        }
        return bits & highs == 0
    }

    static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether any of the word's eight bytes is special. Each test is the classic "a byte below
    /// n" one (`(x - n·ones) & ~x & highs`): exact as to whether some byte matches, which is all
    /// that is asked here (the bytes of a word with one are then looked at one by one).
    static func hasSpecial(_ word: UInt64) -> Bool {
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let control = (word &- ones &* 0x20) & ~word
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        return (control | zeroQuote | zeroBackslash) & highs != 0
    }
}
