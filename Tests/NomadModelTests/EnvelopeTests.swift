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
