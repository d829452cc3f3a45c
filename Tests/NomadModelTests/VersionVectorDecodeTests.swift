import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// The compact reader must give what the JSON decoder gives, and leave everything else to it.
@Suite struct VersionVectorDecodeTests {
    static func vector(_ count: Int, seed: UInt64) -> VersionVector {
        let random = SeededRandom(seed: seed)
        var seqs: [OriginID: UInt64] = [:]
        for index in 0..<count {
            let seq = index % 5 == 0 ? VersionVector.maxSeq : UInt64(random.bytes(1)[0]) * 1_000 + UInt64(index % 3)
            seqs[OriginID.generate(using: random)] = seq
        }
        return VersionVector(seqs)
    }

    @Test(arguments: [0, 1, 2, 17, 300])
    func whatNomadsyncWritesIsReadWithoutTheDecoder(origins: Int) throws {
        let vector = Self.vector(origins, seed: UInt64(origins))
        let text = try WireJSON.encode(vector)
        #expect(VersionVector.compact(text) == vector)
        #expect(try VersionVector.decode(text, what: "v") == vector)
    }

    @Test func anyOtherTextGetsTheDecodersAnswer() throws {
        let origin = OriginID.generate(using: SeededRandom(seed: 1)).text
        let texts = [
            #"{ "\#(origin)": 5 }"#, #"{"\#(origin)":05}"#, #"{"\#(origin)":5.0}"#, #"{"\#(origin)":-5}"#, #"{"\#(origin)":5,}"#,
            #"{"\#(origin)":9223372036854775808}"#, #"{"\#(origin)":18446744073709551616}"#, #"{"\#(origin)":5,"\#(origin)":6}"#,
            #"{"nope":5}"#, #"{"\#(origin)":5}x"#, "{}", "", "[]", #"{"\#(origin)":}"#, #"{"\u0041\#(origin.dropFirst())":1}"#,
        ]
        for text in texts {
            let decoder = try? WireJSON.decode(VersionVector.self, from: Data(text.utf8), what: "v")
            #expect((try? VersionVector.decode(text, what: "v")) == decoder, "\(text)")
        }
        #expect(VersionVector.compact(#"{ "\#(origin)": 5 }"#) == nil)
        #expect(VersionVector.compact(#"{"\#(origin)":05}"#) == nil)
    }
}
