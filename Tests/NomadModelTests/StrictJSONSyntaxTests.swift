import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

/// The strict scan answers "valid" for the common documents, and never for text that
/// JSONSerialization (whose answer decides what is accepted) refuses.
@Suite struct StrictJSONSyntaxTests {
    static func foundationAccepts(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
    }

    @Test(arguments: [
        #"{"type":"Note","content":"h\u00e9llo \"q\" \\ \/ \b\f\n\r\t","tags":["a",1,-2.5,0.25,true,false,null],"o":{}}"#,
        "[]", " [ 1 , { } ] ", #""text""#, "0", "-0", "123456789012345.123456789012345", #"{"a":1,"a":2}"#,
        #""😀 é""#, #""\u0041""#,
    ])
    func plainDocumentsAreProvedValid(text: String) {
        #expect(StrictJSONSyntax.isCertainlyValid(text), "\(text)")
        #expect(Self.foundationAccepts(text), "\(text)")
    }

    /// Text the scan leaves to JSONSerialization: some of it Foundation accepts ([1,], a byte
    /// order mark, exponents), some it refuses.
    @Test(arguments: [
        "[1,]", "\u{FEFF}1", "1e400", "1.0e+2", "1234567890123456", "0.1234567890123456", "01", "-", "[-]", "1.", ".5",
        #""\ud800""#, #""\udc00\ud800""#, "\"a\u{1}b\"", #""\x""#, #""\u12""#, #"{"a":1}x"#, "{,}", "[1 2]", #"{"a" 1}"#,
        #"{1:2}"#, "tru", "nul", "truex", "", " ", "\"open", "[", "{", #"{"a":}"#,
    ])
    func anythingElseIsLeftToFoundation(text: String) {
        #expect(!StrictJSONSyntax.isCertainlyValid(text), "\(text)")
    }

    @Test func validateStillRefusesWhatFoundationRefuses() {
        for text in ["01", #""\ud800""#, "1e400", "[1 2]", ""] {
            #expect(throws: ModelError.self) { try JSONText.validate(text, what: "body", maxDepth: 32) }
        }
        #expect((try? JSONText.validate("[1,]", what: "body", maxDepth: 32)) != nil)
    }

    /// Random mutations of valid documents: whenever the scan says valid, Foundation agrees.
    @Test func neverValidWhereFoundationRefuses() {
        let random = SeededRandom(seed: 7)
        let seeds = [#"{"a":[1,-2.5,"x\n\u00e9",true,null],"b":{"c":"d"}}"#, #"["\\",0.5,{"":[]}]"#]
        let alphabet = Array(#"{}[]":,.-+0123456789eEtrufalsn\ /bu"#.utf8) + [0x01, 0x7F, 0xC3, 0xA9]
        var proved = 0
        for _ in 0..<20_000 {
            var bytes = Array(seeds[Int(random.bytes(1)[0]) % seeds.count].utf8)
            for _ in 0...(Int(random.bytes(1)[0]) % 4) {
                let at = Int(random.bytes(2).reduce(0) { $0 << 8 | Int($1) }) % (bytes.count + 1)
                let pick = random.bytes(2)
                switch pick[0] % 3 {
                case 0 where at < bytes.count: bytes.remove(at: at)
                case 1 where at < bytes.count: bytes[at] = alphabet[Int(pick[1]) % alphabet.count]
                default: bytes.insert(alphabet[Int(pick[1]) % alphabet.count], at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if StrictJSONSyntax.isCertainlyValid(text) {
                proved += 1
                #expect(Self.foundationAccepts(text), "\(text)")
            }
        }
        #expect(proved > 100)
    }
}
