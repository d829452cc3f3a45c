import Foundation
import NomadCrypto
import NomadTransport
import Testing

@Suite struct HTTPSignatureTests {
    let keys = SigningKeyPair.generate(using: SeededRandom(seed: 3))
    var signer: RequestSigner { RequestSigner(keys: keys, idURL: "https://a.example/channel/alice", random: SeededRandom(seed: 4)) }

    func verify(_ request: OutboundRequest, method: String = "POST", target: String = "/zot") throws {
        let signature = try HTTPSignature(parsing: request.header("Signature")!)
        try signature.verify(method: method, target: target, required: HTTPSignature.postHeaders, publicKey: keys.publicKey) {
            request.header($0)
        }
    }

    @Test func aSignedPostVerifiesAndCoversEveryRequiredHeader() throws {
        let request = try signer.post(url: "http://127.0.0.1:8450/zot", body: Array("{}".utf8), now: 784_111_777_000)
        #expect(request.header("Host") == "127.0.0.1:8450")
        #expect(request.header("Digest") == "SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=")
        #expect(request.header("Date") == "Sun, 06 Nov 1994 08:49:37 GMT")
        let header = try HTTPSignature(parsing: request.header("Signature")!)
        #expect(header.keyID == "https://a.example/channel/alice#ed25519")
        #expect(header.algorithm == "hs2019")
        #expect(header.headers == HTTPSignature.postHeaders)
        try verify(request)
    }

    @Test func changingAnySignedHeaderBreaksTheSignature() throws {
        let request = try signer.post(url: "http://127.0.0.1:8450/zot", body: Array("{}".utf8), now: 784_111_777_000)
        for name in ["Host", "Date", "Digest", "Content-Type", "X-Zot-Token"] {
            var tampered = request
            let i = tampered.headers.firstIndex { $0.0 == name }!
            tampered.headers[i].1 += "x"
            #expect(throws: SignatureError.badSignature) { try verify(tampered) }
        }
        #expect(throws: SignatureError.badSignature) { try verify(request, target: "/nomad") }
    }

    @Test func aSignatureThatLeavesOutARequiredHeaderIsRefused() throws {
        let text = try HTTPSignature.sign(method: "POST", target: "/zot", headers: ["(request-target)", "date"], keyID: "k",
                                          keys: keys) { _ in "x" }
        let signature = try HTTPSignature(parsing: text)
        #expect(throws: SignatureError.self) {
            try signature.verify(method: "POST", target: "/zot", required: HTTPSignature.postHeaders, publicKey: keys.publicKey) { _ in "x" }
        }
    }

    @Test func malformedSignatureHeadersAreRefused() {
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: "garbage") }
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: #"keyId="k",signature="!!!""#) }
        #expect(throws: SignatureError.self) { try HTTPSignature(parsing: #"keyId="k",algorithm="rsa-sha256",signature="AAAA""#) }
    }

    @Test func httpDatesRoundTripAndRejectGarbage() {
        #expect(HTTPDate.format(milliseconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777_000)
        #expect(HTTPDate.parse("Sat, 29 Feb 2020 23:59:59 GMT") == 1_583_020_799_000)
        for ms in stride(from: UInt64(0), to: 4_000_000_000_000, by: 123_456_789_000) {
            #expect(HTTPDate.parse(HTTPDate.format(milliseconds: ms)) == ms / 1000 * 1000)
        }
        #expect(HTTPDate.parse("yesterday") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 25:49:37 GMT") == nil)
    }
}
