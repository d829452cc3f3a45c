import Foundation
import NomadCrypto
import Testing
@testable import NomadModel

@Suite struct EnvelopeTests {
    let sender = PortableID(guid: "g", publicKey: [UInt8](repeating: 1, count: 32))
    let siteA = SiteID(url: "https://a.example", publicKey: [UInt8](repeating: 2, count: 32))
    let siteB = SiteID(url: "https://b.example", publicKey: [UInt8](repeating: 3, count: 32))
    let recipient = SealKeyPair.generate(using: SystemRandom())

    func envelope(encoding: String = "nomadsync") throws -> Envelope {
        let binding = Envelope.binding(type: .sync, sender: sender, siteID: siteA, recipientSiteID: siteB)
        let payload = try SealedPayload.seal(Array("{}".utf8), to: recipient.publicKey, additionalData: binding, random: SystemRandom())
        return Envelope(type: .sync, encoding: encoding, sender: sender, siteID: siteA, recipients: [sender], data: payload)
    }

    @Test func sealedPayloadOpensForTheBoundRecipientSite() throws {
        let e = try envelope()
        #expect(try e.data.open(with: recipient, additionalData: e.binding(recipientSiteID: siteB)) == Array("{}".utf8))
    }

    @Test func sealedPayloadRefusesAnotherRecipientSite() throws {
        let e = try envelope()
        #expect(throws: CryptoError.self) { try e.data.open(with: recipient, additionalData: e.binding(recipientSiteID: siteA)) }
    }

    @Test func sealedPayloadRefusesAnotherMessageType() throws {
        var e = try envelope()
        e.type = .refresh
        #expect(throws: CryptoError.self) { try e.data.open(with: recipient, additionalData: e.binding(recipientSiteID: siteB)) }
    }

    @Test func registryDecodesTheNomadsyncEncoding() throws {
        let e = try envelope()
        #expect(try CodecRegistry.standard.decode(Data(try WireJSON.encode(e).utf8)) == .envelope(e))
    }

    /// The registry reads a whole `nomadsync` envelope in one pass; every body, valid or not,
    /// gets what reading its header first gives.
    @Test func theOnePassReadAnswersWhatTheHeaderFirstReadAnswers() throws {
        let valid = try WireJSON.encode(try envelope())
        let bodies = [
            valid,
            valid.replacingOccurrences(of: "nomadsync/1", with: "nomadsync/9"),
            try WireJSON.encode(try envelope(encoding: "hz")),
            valid.replacingOccurrences(of: #""type":"sync""#, with: #""type":"poke""#),
            valid.replacingOccurrences(of: #""encoding":"nomadsync","#, with: ""),
            #"{"encrypted":true,"alg":"aes256ctr","key":"k","iv":"i","data":"d"}"#,
            #"{"type":"sync","encoding":"nomadsync"}"#,
            String(valid.dropLast()),
            // The writer's form, but not quite: each leaves the fast path for the decoder.
            valid.replacingOccurrences(of: #""recipients":["#, with: #""recipients":[],"x":["#),
            valid.replacingOccurrences(of: #""data":{"alg":"#, with: #""data": {"alg":"#),
            valid.replacingOccurrences(of: #""data":{"alg":"xchacha20poly1305","data":""#, with: #""data":{"alg":"xchacha20poly1305","data":"A"#),
            valid.replacingOccurrences(of: #""encrypted":true"#, with: #""encrypted":1"#),
            valid.replacingOccurrences(of: #""sender":""#, with: #""sender":"x"#),
            valid.replacingOccurrences(of: #""site_id":""#, with: #""site_id":"!"#),
        ]
        let registry = CodecRegistry.standard
        for body in bodies {
            let data = Data(body.utf8)
            let onePass = Result { try registry.decode(data, limits: .standard) }
            let byHeader = Result { try registry.decodeByHeader(data, limits: .standard) }
            switch (onePass, byHeader) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(body.prefix(80))")
            case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(body.prefix(80))")
            default: Issue.record("one pass \(onePass), by header \(byHeader) for \(body.prefix(80))")
            }
        }
    }

    /// Compared as the bytes each writes again, and as values.
    @Test(arguments: Array(WireJSONWriterTests.hostile.enumerated()))
    func anEnvelopeTheWriterWroteIsReadAsTheDecoderReadsIt(index: Int, text: String) throws {
        let payload = SealedPayload(encrypted: index % 2 == 0, alg: text, key: text + "k", iv: "iv" + text,
                                    data: Base64URL.encode(SeededRandom(seed: 7).bytes(index * 40)))
        for recipients in [[], [sender], [sender, sender]] {
            let written = Envelope(type: MessageType.allCases[index % MessageType.allCases.count], encoding: text, sender: sender,
                                   siteID: siteA, version: text, recipients: recipients, data: payload).wireJSON
            let fast = try #require(written.withUnsafeBytes { Envelope.fastWire($0) }, "\(text.debugDescription)")
            let decoded = try WireJSON.decode(Envelope.self, from: Data(written), what: "envelope")
            #expect(fast == decoded && fast.wireJSON == decoded.wireJSON && fast.wireJSON == written, "\(text.debugDescription)")
        }
    }

    @Test func unknownEncodingIsIgnoredNotRefused() throws {
        let body = #"{"type":"sync","encoding":"hz","sender":"x","data":"whatever shape"}"#
        #expect(try CodecRegistry.standard.decode(Data(body.utf8)) == .ignored(encoding: "hz", type: .sync))
    }

    @Test func unknownMessageTypeIsRefused() {
        let body = #"{"type":"poke","encoding":"nomadsync"}"#
        #expect(throws: ModelError.self) { try CodecRegistry.standard.decode(Data(body.utf8)) }
    }

    @Test func malformedJSONIsRefused() {
        #expect(throws: ModelError.self) { try CodecRegistry.standard.decode(Data("{\"type\":".utf8)) }
    }

    @Test func oversizedBodyIsRefused() {
        var limits = WireLimits.standard
        limits.maxBodyBytes = 10
        #expect(throws: ModelError.self) { try CodecRegistry.standard.decode(Data(String(repeating: " ", count: 11).utf8), limits: limits) }
    }
}
