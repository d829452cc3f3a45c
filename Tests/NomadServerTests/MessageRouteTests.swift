import Foundation
import NomadCrypto
import NomadModel
import NomadServer
import NomadTransport
import Testing
@testable import NomadEngine

/// `activity` and `rekey` messages from another channel (dave, on site D, never served) to a
/// real node B hosting alice: accepted with a delivery report, or refused with the status
/// docs/PROTOCOL.md §10.3 lists and nothing kept.
@Suite(.serialized)
struct MessageRouteTests {
    struct Sender {
        let d: LocalSite
        let dave: HostedChannel

        init(clock: ManualClock) throws {
            d = try LocalSite(url: "http://127.0.0.1:\(try freePort())", seed: 31, clock: clock)
            dave = try d.site.createChannel(nickname: "dave")
        }

        func signer(keys: SigningKeyPair? = nil) throws -> RequestSigner {
            RequestSigner(keys: try keys ?? d.site.channelKeys(dave), idURL: "\(d.url)/channel/dave", random: SystemRandom())
        }

        func envelope(_ message: ChannelMessage, type: MessageType, recipients: [PortableID], to pair: ServedPair) throws -> [UInt8] {
            let b = try pair.b.location
            let binding = Envelope.binding(type: type, sender: message.channel, siteID: message.from, recipientSiteID: b.siteID)
            let sealKey = try Base64URL.decode(b.sealkey, what: "sealkey", length: SealKeyPair.publicKeyLength)
            let payload = try SealedPayload.seal(Array(try WireJSON.encode(message).utf8), to: sealKey, additionalData: binding, random: SystemRandom())
            return Array(try WireJSON.encode(Envelope(type: type, sender: message.channel, siteID: message.from, recipients: recipients,
                                                      data: payload)).utf8)
        }

        func activity(_ text: String) throws -> ChannelMessage {
            ChannelMessage(channel: dave.portableID, from: try d.site.identity().siteID, guid: dave.guid, publicKey: dave.publicKey,
                           activity: text)
        }
    }

    @Test func anActivityForAHostedChannelIsKeptAndAcknowledged() async throws {
        let pair = try await ServedPair.start()
        let sender = try Sender(clock: pair.a.clock)
        defer { sender.d.remove() }
        let alice = try pair.b.site.channel(nickname: "alice").portableID
        let text = #"{"id":"http://d.example/note/1","type":"Create"}"#
        let body = try sender.envelope(try sender.activity(text), type: .activity, recipients: [alice], to: pair)
        let (code, answer) = try await pair.send(try sender.signer().post(url: pair.zot, body: body, now: pair.a.clock.nowMilliseconds()))
        #expect(code == 200, "\(answer)")
        #expect(answer.contains("activity kept for 1 channel(s), 0 duplicate"))
        #expect(try pair.b.site.inbound(nickname: "alice").map(\.body) == [text])
        await pair.stop()
    }

    @Test func anActivitySignedByAnotherKeyIs401AndKeepsNothing() async throws {
        let pair = try await ServedPair.start()
        let sender = try Sender(clock: pair.a.clock)
        defer { sender.d.remove() }
        let alice = try pair.b.site.channel(nickname: "alice").portableID
        let body = try sender.envelope(try sender.activity("{}"), type: .activity, recipients: [alice], to: pair)
        let stranger = SigningKeyPair.generate(using: SystemRandom())
        let (code, answer) = try await pair.send(try sender.signer(keys: stranger).post(url: pair.zot, body: body, now: pair.a.clock.nowMilliseconds()))
        #expect(code == 401, "\(answer)")
        #expect(try pair.b.site.inbound(nickname: "alice").isEmpty)
        await pair.stop()
    }

    @Test func aRekeyWithABadNewSignatureIs401AndChangesNothing() async throws {
        let pair = try await ServedPair.start()
        let sender = try Sender(clock: pair.a.clock)
        defer { sender.d.remove() }
        // alice has dave as a connection, so a rekey from dave concerns B.
        try pair.b.site.append(nickname: "alice", [Change(entity: "connection", key: sender.dave.portableID.text, op: .put, body: "{}")])
        let digest = try pair.b.digest()
        let outcome = try sender.d.site.rekey(nickname: "dave", update: true)
        var rekey = outcome.rekey
        rekey.newSig = SigningKeyPair.generate(using: SystemRandom()).signatureText(over: Array(rekey.rekey.utf8))
        let dave = try sender.d.site.channel(nickname: "dave")
        let message = ChannelMessage(channel: dave.portableID, from: try sender.d.site.identity().siteID, guid: dave.guid,
                                     publicKey: dave.publicKey, rekey: rekey)
        let body = try sender.envelope(message, type: .rekey, recipients: [], to: pair)
        let signer = RequestSigner(keys: try sender.d.site.channelKeys(dave), idURL: "\(sender.d.url)/channel/dave", random: SystemRandom())
        let (code, answer) = try await pair.send(try signer.post(url: pair.zot, body: body, now: pair.a.clock.nowMilliseconds()))
        #expect(code == 401, "\(answer)")
        #expect(answer.contains("new_sig"))
        #expect(try pair.b.digest() == digest)
        #expect(try pair.b.site.remoteChannel(outcome.oldPortableID) == nil)
        await pair.stop()
    }
}
