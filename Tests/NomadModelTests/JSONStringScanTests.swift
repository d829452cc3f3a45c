import NomadCrypto
import Testing
@testable import NomadModel

/// The word-at-a-time scan must stop exactly where a byte-by-byte look stops.
@Suite struct JSONStringScanTests {
    static func byteByByte(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index < bytes.count, !JSONStringScan.isSpecial(bytes[index]) { index += 1 }
        return index
    }

    static func scan(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { JSONStringScan.nextSpecial(in: $0, from: start) }
    }

    /// Each special byte, and its neighbours that are not special, at every offset of the first
    /// words, after plain ASCII and after bytes of 0x80 and above.
    @Test(arguments: [UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x00, 0x1F, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF])
    func aByteAtEveryOffsetIsFoundWhereItIs(byte: UInt8) {
        for filler in [UInt8(ascii: "a"), 0x80, 0xFF, 0x21] {
            for length in 0...40 {
                for position in 0..<max(length, 1) {
                    var bytes = [UInt8](repeating: filler, count: length)
                    if position < length { bytes[position] = byte }
                    for start in [0, 1, 7, 8] where start <= length {
                        #expect(Self.scan(bytes, from: start) == Self.byteByByte(bytes, from: start),
                                "byte \(byte) at \(position) of \(length) after \(filler), from \(start)")
                    }
                }
            }
        }
    }

    @Test func randomBytesStopWhereAByteByByteLookStops() {
        let random = SeededRandom(seed: 42)
        for round in 0..<2_000 {
            // Mostly bytes that pass, so that runs of whole words occur.
            let length = Int(random.bytes(1)[0] % 64)
            let bytes = random.bytes(length).map { $0 % 7 == 0 ? $0 % 0x24 : $0 | 0x23 }
            let start = length == 0 ? 0 : Int(random.bytes(1)[0]) % length
            #expect(Self.scan(bytes, from: start) == Self.byteByByte(bytes, from: start), "round \(round): \(bytes)")
        }
    }

    @Test func theWordTestFindsEveryKindOfSpecialByteInEveryLane() {
        for lane in 0..<8 {
            for byte in [UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x00, 0x01, 0x1F] {
                let word = (UInt64(0x4141_4141_4141_4141) & ~(UInt64(0xFF) << (8 * lane))) | (UInt64(byte) << (8 * lane))
                #expect(JSONStringScan.hasSpecial(word), "byte \(byte) in lane \(lane)")
            }
        }
        #expect(!JSONStringScan.hasSpecial(0x4141_4141_4141_4141))
        #expect(!JSONStringScan.hasSpecial(0xFFFF_FFFF_FFFF_FFFF))
        #expect(!JSONStringScan.hasSpecial(0x2020_2020_2020_2020))
        #expect(!JSONStringScan.hasSpecial(0x8080_8080_8080_8080))
    }
}
