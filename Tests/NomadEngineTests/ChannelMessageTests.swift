import Foundation
import NomadCrypto
import NomadModel
import NomadStore
import Testing
@testable import NomadEngine

/// `rekey`, `refresh`, `purge`, `activity` and `response` between a channel and its connections:
/// alice (site a) and carol (site c) know each other through `connection` entries.
struct ChannelMessageTests {
    struct Pair {
        let a: TestSite
        let c: TestSite
        func remove() { a.remove(); c.remove() }
    }

    /// alice on a and carol on c, each with a connection entry naming the other.
    func connected() throws -> Pair {
        let a = try TestSite(seed: 1)
        let c = try TestSite(url: "https://c.example", seed: 3)
        _ = try a.site.createChannel(nickname: "alice")
        _ = try c.site.createChannel(nickname: "carol")
        try connect(c, "carol", to: a, "alice")
        try connect(a, "alice", to: c, "carol")
        return Pair(a: a, c: c)
    }

    func connect(_ holder: TestSite, _ nick: String, to other: TestSite, _ otherNick: String) throws {
        let id = try other.site.channel(nickname: otherNick).portableID
        let url = "\(try other.site.identity().url)/channel/\(otherNick)"
        _ = try holder.put(nick, id.text, #"{"name":"\#(otherNick)","url":"\#(url)"}"#, entity: "connection")
    }

    func pid(_ site: TestSite, _ nick: String) throws -> PortableID { try site.site.channel(nickname: nick).portableID }

    /// Delivers every due message of `from` to the sites among `to` (discovery documents come
    /// straight from the target site); returns the receipts.
    @discardableResult
    func deliver(_ from: TestSite, to sites: [TestSite]) throws -> [MessageReceipt] {
        var receipts: [MessageReceipt] = []
        for message in try from.site.dueMessages() {
            var route = try from.site.route(message)
            if case .discover(let url) = route, case .connection(let id, _) = message.target {
                let nick = String(url.split(separator: "/").last ?? "")
                let host = try #require(sites.first { url.hasPrefix(try $0.site.identity().url) })
                try from.site.learnConnection(try host.site.discovery(nickname: nick).verified(), for: id)
                route = try from.site.route(message)
            }
            guard case .post(let posts) = route else { continue }
            var done: [SiteID] = []
            for post in posts {
                guard let target = try sites.first(where: { try $0.site.identity().siteID == post.location.siteID }) else { continue }
                let envelope = try WireJSON.decode(Envelope.self, from: Data(post.body), what: "envelope")
                receipts.append(try target.site.acceptMessage(try target.site.openMessage(envelope), token: UUID().uuidString))
                done.append(post.location.siteID)
            }
            try from.site.recordPosts(message, done: done, failures: done.count == posts.count ? [] : ["not delivered"], backoff: Backoff())
        }
        return receipts
    }

    /// A message from `nick` on `from` sealed to `to`'s site, as a hostile or foreign sender
    /// might build it.
    func seal(_ message: ChannelMessage, type: MessageType, recipients: [PortableID], from: TestSite, to: TestSite) throws -> Envelope {
        let me = try from.site.identity()
        let target = try to.site.identity()
        let binding = Envelope.binding(type: type, sender: message.channel, siteID: me.siteID, recipientSiteID: target.siteID)
        let payload = try SealedPayload.seal(Array(try WireJSON.encode(message).utf8), to: target.seal.publicKey, additionalData: binding,
                                             random: SeededRandom(seed: 99))
        return Envelope(type: type, sender: message.channel, siteID: me.siteID, recipients: recipients, data: payload)
    }

    func activity(from site: TestSite, _ nick: String, text: String) throws -> ChannelMessage {
        let channel = try site.site.channel(nickname: nick)
        return ChannelMessage(channel: channel.portableID, from: try site.site.identity().siteID, guid: channel.guid,
                              publicKey: channel.publicKey, activity: text)
    }

    // MARK: rekey

    @Test func aConnectionsRekeyWithUpdateMovesTheConnectionEntryToTheNewID() throws {
        let p = try connected()
        defer { p.remove() }
        let old = try pid(p.a, "alice")
        let outcome = try p.a.site.rekey(nickname: "alice", update: true)
        let receipts = try deliver(p.a, to: [p.c])
        #expect(receipts.contains { $0.status.hasPrefix("rekey applied: 1 connection") })
        let connections = try p.c.site.state(nickname: "carol", entity: "connection")
        #expect(connections.map(\.key) == [outcome.newPortableID.text])
        #expect(connections.first?.body.contains(#""name":"alice""#) == true)
        #expect(try p.c.site.remoteChannel(old)?.replacedBy == outcome.newPortableID)
    }

    @Test func aConnectionsLinkRekeyKeepsTheEntryAndLinksBothIDs() throws {
        let p = try connected()
        defer { p.remove() }
        let old = try pid(p.a, "alice")
        let outcome = try p.a.site.rekey(nickname: "alice", update: false)
        try deliver(p.a, to: [p.c])
        #expect(try p.c.site.state(nickname: "carol", entity: "connection").map(\.key) == [old.text])
        #expect(try p.c.site.remoteChannel(old)?.linkedTo == outcome.newPortableID)
        #expect(try p.c.site.remoteChannel(outcome.newPortableID)?.publicKey == p.a.site.channel(nickname: "alice").record.publicKey)
    }

    @Test func aRekeyReplayedInANewRequestIsRefusedWith409AndChangesNothing() throws {
        let p = try connected()
        defer { p.remove() }
        let outcome = try p.a.site.rekey(nickname: "alice", update: true)
        let channel = try p.a.site.channel(nickname: "alice")
        let message = ChannelMessage(channel: outcome.newPortableID, from: try p.a.site.identity().siteID, guid: channel.guid,
                                     publicKey: channel.publicKey, rekey: outcome.rekey)
        let envelope = try seal(message, type: .rekey, recipients: [], from: p.a, to: p.c)
        _ = try p.c.site.acceptMessage(try p.c.site.openMessage(envelope), token: "t1")
        let log = try p.c.site.log(nickname: "carol").count
        #expect(throws: EngineError.replayedRekey(outcome.newPortableID.text)) {
            try p.c.site.acceptMessage(try p.c.site.openMessage(envelope), token: "t2")
        }
        #expect(EngineError.replayedRekey("x").refusal.status == 409)
        #expect(try p.c.site.log(nickname: "carol").count == log)
    }

    @Test(arguments: ["bad old_sig", "bad new_sig", "swapped signatures"])
    func aRekeyThatDoesNotVerifyIsRefusedWith401AndChangesNothing(_ flaw: String) throws {
        let p = try connected()
        defer { p.remove() }
        let outcome = try p.a.site.rekey(nickname: "alice", update: true)
        var rekey = outcome.rekey
        let stranger = SigningKeyPair.generate(using: SeededRandom(seed: 7)).signatureText(over: Array(rekey.rekey.utf8))
        switch flaw {
        case "bad old_sig": rekey.oldSig = stranger
        case "bad new_sig": rekey.newSig = stranger
        default: (rekey.oldSig, rekey.newSig) = (rekey.newSig, rekey.oldSig)
        }
        let channel = try p.a.site.channel(nickname: "alice")
        let message = ChannelMessage(channel: outcome.newPortableID, from: try p.a.site.identity().siteID, guid: channel.guid,
                                     publicKey: channel.publicKey, rekey: rekey)
        let before = try p.c.stateSnapshot("carol")
        let envelope = try seal(message, type: .rekey, recipients: [], from: p.a, to: p.c)
        #expect { try p.c.site.openMessage(envelope) } throws: { error in
            guard let error = error as? EngineError, case .invalidRekey = error else { return false }
            return error.refusal.status == 401
        }
        #expect(try p.c.stateSnapshot("carol") == before)
        #expect(try p.c.site.remoteChannel(outcome.oldPortableID) == nil)
    }

    @Test func aRekeyFromAStrangerIsRefused() throws {
        let p = try connected()
        defer { p.remove() }
        let d = try TestSite(url: "https://d.example", seed: 4)
        defer { d.remove() }
        _ = try d.site.createChannel(nickname: "dave")
        let outcome = try d.site.rekey(nickname: "dave", update: true)
        let channel = try d.site.channel(nickname: "dave")
        let message = ChannelMessage(channel: outcome.newPortableID, from: try d.site.identity().siteID, guid: channel.guid,
                                     publicKey: channel.publicKey, rekey: outcome.rekey)
        #expect(throws: EngineError.self) { try p.c.site.openMessage(try seal(message, type: .rekey, recipients: [], from: d, to: p.c)) }
    }

    // MARK: purge

    @Test func aChannelDeletedEverywhereIsRemovedFromItsConnections() throws {
        let p = try connected()
        defer { p.remove() }
        let alice = try pid(p.a, "alice")
        let outcome = try p.a.site.purge(nickname: "alice")
        #expect(!outcome.wiped, "the purge message to carol must leave before the key is wiped")
        let receipts = try deliver(p.a, to: [p.c])
        #expect(receipts.map(\.status) == ["purge: 1 connection(s) removed"])
        #expect(try p.c.site.state(nickname: "carol", entity: "connection").isEmpty)
        #expect(try p.c.site.remoteChannel(alice)?.purgedAt != nil)
        #expect(try p.a.site.channels().isEmpty, "delivered: the purging site wipes the channel")
    }

    @Test func deletingAConnectionUnfriendsIt() throws {
        let p = try connected()
        defer { p.remove() }
        let carol = try pid(p.c, "carol")
        _ = try p.a.delete("alice", carol.text, entity: "connection")
        let queued = try p.a.site.queuedMessages(nickname: "alice")
        #expect(queued.map(\.type) == [.purge] && queued.first?.recipients == [carol])
        try deliver(p.a, to: [p.c])
        #expect(try p.c.site.state(nickname: "carol", entity: "connection").isEmpty)
        #expect(try p.c.site.remoteChannel(try pid(p.a, "alice"))?.purgedAt == nil, "an unfriend is not a deletion")
    }

    // MARK: refresh

    @Test func aLocationChangeRefreshesEveryConnection() throws {
        let p = try connected()
        defer { p.remove() }
        _ = try p.a.site.setFallbacks(nickname: "alice", ["https://a2.example"])
        let alice = try pid(p.a, "alice")
        let document = try p.a.site.discovery(nickname: "alice").verified()
        let message = try #require(try p.a.site.queuedMessages(nickname: "alice").first { $0.type == .refresh })
        let envelope = try seal(ChannelMessage(channel: alice, from: try p.a.site.identity().siteID, guid: document.guid,
                                               publicKey: document.publicKey), type: message.type, recipients: [], from: p.a, to: p.c)
        let receipt = try p.c.site.acceptMessage(try p.c.site.openMessage(envelope), token: "r1", document: document)
        #expect(receipt.status == "refresh: 1 live location(s) stored")
        #expect(try p.c.site.remoteChannel(alice)?.locations.first?.fallbacks == ["https://a2.example"])
    }

    @Test func aRefreshFromAChannelNobodyHereKnowsIsRefused() throws {
        let p = try connected()
        defer { p.remove() }
        let d = try TestSite(url: "https://d.example", seed: 4)
        defer { d.remove() }
        _ = try d.site.createChannel(nickname: "dave")
        let dave = try d.site.channel(nickname: "dave")
        let message = ChannelMessage(channel: dave.portableID, from: try d.site.identity().siteID, guid: dave.guid, publicKey: dave.publicKey)
        #expect(throws: EngineError.notForThisSite("\(dave.portableID.text) is not a connection of any channel hosted here")) {
            try p.c.site.openMessage(try seal(message, type: .refresh, recipients: [], from: d, to: p.c))
        }
    }

    // MARK: activity and response

    @Test func anActivityIsKeptOnceForItsHostedRecipient() throws {
        let p = try connected()
        defer { p.remove() }
        let text = #"{"id":"https://a.example/item/1","type":"Create","object":{"content":"hi"}}"#
        let envelope = try seal(try activity(from: p.a, "alice", text: text), type: .activity, recipients: [try pid(p.c, "carol")], from: p.a, to: p.c)
        let first = try p.c.site.acceptMessage(try p.c.site.openMessage(envelope), token: "a1")
        let second = try p.c.site.acceptMessage(try p.c.site.openMessage(envelope), token: "a2")
        #expect(first.status == "activity kept for 1 channel(s), 0 duplicate")
        #expect(second.status == "activity kept for 0 channel(s), 1 duplicate")
        let kept = try p.c.site.inbound(nickname: "carol")
        #expect(kept.map(\.body) == [text] && kept.first?.messageID == "https://a.example/item/1")
    }

    @Test func anActivityForNobodyHostedHereIsRefused() throws {
        let p = try connected()
        defer { p.remove() }
        let envelope = try seal(try activity(from: p.a, "alice", text: "{}"), type: .response, recipients: [try pid(p.a, "alice")], from: p.a, to: p.c)
        #expect(throws: EngineError.notForThisSite("no recipient of this message is hosted on this site")) { try p.c.site.openMessage(envelope) }
    }

    @Test func aSenderWhoseKeyDoesNotMakeItsIDIsRefused() throws {
        let p = try connected()
        defer { p.remove() }
        var message = try activity(from: p.a, "alice", text: "{}")
        message.publicKey = Base64URL.encode(SigningKeyPair.generate(using: SeededRandom(seed: 5)).publicKey)
        let envelope = try seal(message, type: .activity, recipients: [try pid(p.c, "carol")], from: p.a, to: p.c)
        #expect(throws: ModelError.self) { try p.c.site.openMessage(envelope) }
        #expect(try p.c.site.inbound(nickname: "carol").isEmpty)
    }

    @Test func anActivityThatIsNotAJSONObjectIsRefused() throws {
        let p = try connected()
        defer { p.remove() }
        let envelope = try seal(try activity(from: p.a, "alice", text: "[1,2]"), type: .activity, recipients: [try pid(p.c, "carol")], from: p.a, to: p.c)
        #expect(throws: ModelError.self) { try p.c.site.openMessage(envelope) }
    }

    // MARK: clones

    @Test func aClonesRekeyMessageChangesNothingBeyondTheLog() throws {
        let (a, b) = try TestSite.clonedPair()
        defer { a.remove(); b.remove() }
        try PurgeTests().deliver(b, to: a)
        try a.site.rekey(nickname: "alice", update: true)
        let queued = try a.site.queuedMessages(nickname: "alice")
        #expect(Set(queued.map(\.type)) == [.rekey, .refresh])
        try PurgeTests().deliver(a, to: b)
        let receipts = try deliver(a, to: [b])
        #expect(receipts.allSatisfy { $0.status.hasSuffix("from a clone: its changes reach this site through the log") })
        #expect(try a.site.queuedMessages(nickname: "alice").isEmpty)
    }
}
