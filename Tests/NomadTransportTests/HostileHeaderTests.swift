import Foundation
import NomadCrypto
import Testing
@testable import NomadTransport

/// Headers from a hostile peer: every one is refused with an error, none traps.
struct HostileHeaderTests {
    @Test func aDateWithAHugeYearIsNotADate() {
        #expect(HTTPDate.parse("Thu, 01 Jan 999999999999 00:00:00 GMT") == nil)
        #expect(HTTPDate.parse("Thu, 01 Jan 9223372036854775807 00:00:00 GMT") == nil)
    }

    @Test func aDateWithOutOfRangeOrOversizedFieldsIsNotADate() {
        for text in ["Thu, 99 Jan 2026 00:00:00 GMT", "Thu, 01 Jan 2026 99:00:00 GMT", "Thu, 01 Jan 1969 00:00:00 GMT",
                     "Thu, 01 Jan 2026 00:00:-1 GMT", "Thu, +1 Jan 2026 00:00:00 GMT", "Thu,  01 Jan 2026 00:00:00 GMT",
                     "Xyz, 01 Jan 2026 00:00:00 GMT", String(repeating: "9", count: 10_000)] {
            #expect(HTTPDate.parse(text) == nil, "\(text.prefix(40))")
        }
    }

    @Test func aRealDateStillParses() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777_000)
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") != nil)
    }

    @Test func createdAndExpiresAreUnquotedIntegersAndCanBeSigned() throws {
        let keys = SigningKeyPair.generate(using: SeededRandom(seed: 1))
        let names = ["(request-target)", "(created)", "(expires)", "host"]
        let text = try HTTPSignature.signingString(method: "GET", target: "/x", headers: names, created: 1_700_000_000,
                                                   expires: 1_700_000_300) { $0 == "host" ? "a.example" : nil }
        #expect(text == "(request-target): get /x\n(created): 1700000000\n(expires): 1700000300\nhost: a.example")
        let header = #"keyId="k",algorithm="hs2019",created=1700000000,expires=1700000300,headers="(request-target) (created) (expires) host",signature=""#
            + Data(keys.sign(Array(text.utf8))).base64EncodedString() + "\""
        let parsed = try HTTPSignature(parsing: header)
        #expect(parsed.created == 1_700_000_000 && parsed.expires == 1_700_000_300)
        try parsed.verify(method: "GET", target: "/x", required: ["host"], publicKey: keys.publicKey) { $0 == "host" ? "a.example" : nil }
    }

    @Test func anExpiredSignatureIsRefused() throws {
        let signature = HTTPSignature(keyID: "k", headers: ["(expires)"], signature: [], expires: 1_700_000_000)
        #expect(throws: SignatureError.self) { try signature.checkTimes(now: 1_700_000_001_000, window: 900_000) }
        try signature.checkTimes(now: 1_699_999_999_000, window: 900_000)
    }

    @Test func aCreatedTimeTooFarAheadIsRefused() {
        let signature = HTTPSignature(keyID: "k", headers: ["(created)"], signature: [], created: 1_700_010_000)
        #expect(throws: SignatureError.self) { try signature.checkTimes(now: 1_700_000_000_000, window: 900_000) }
    }

    @Test func overlongOrOverflowingSignatureParametersAreRefused() {
        let huge = #"keyId="k",created=99999999999999999999999,headers="(created)",signature="AAAA""#
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: huge) }
        let long = #"keyId=""# + String(repeating: "k", count: 9000) + #"",signature="AAAA""#
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: long) }
        let many = (0..<40).map { "p\($0)=\"v\"" }.joined(separator: ",")
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: many) }
    }
}
