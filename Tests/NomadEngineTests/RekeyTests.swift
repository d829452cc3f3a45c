import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// Rekey (DESIGN §8): a new key pair reaches every clone in a `key` entry, sealed under the old
/// seed; both keys sign the exact rekey bytes; `update` replaces the id, a link keeps both.
struct RekeyTests {
    /// Sends everything `from` has queued for `to` (packets until the queue is empty), as the
    /// delivery worker would, and returns the last acceptance.
    @discardableResult
    func deliver(_ from: TestSite, to: TestSite, _ nick: String = "alice") throws -> AcceptedSync? {
        var last: AcceptedSync?
        let target = try to.location(nick)
        for _ in 0..<20 {
            let packet = try from.site.nextPacket(channel: nick, to: target)
            let opened = try to.site.openSync(packet.envelope)
            last = try to.site.acceptSync(opened, token: UUID().uuidString)
            let channel = try from.site.channel(nickname: nick)
            let (_, more) = try from.site.acknowledged(channel: channel, siteID: target.siteID, positions: packet.positions)
            if !more { break }
        }
        return last
    }

    func pair() throws -> (TestSite, TestSite) {
        let (a, b) = try TestSite.clonedPair()
        try deliver(b, to: a)  // a learns b's location
        return (a, b)
    }

    @Test func anUpdateRekeyMovesTheCloneToTheNewKeyAndRefusesTheOldID() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        let before = try a.site.channel(nickname: "alice")
        let outcome = try a.site.rekey(nickname: "alice", update: true)
        let after = try a.site.channel(nickname: "alice")
        #expect(after.portableID == outcome.newPortableID && after.portableID != before.portableID)
        #expect(after.publicKey != before.publicKey)
        #expect(try a.site.channel(named: before.portableID)?.valid == false)

        try deliver(a, to: b)
        let onB = try b.site.channel(nickname: "alice")
        #expect(onB.portableID == outcome.newPortableID && onB.publicKey == after.publicKey)
        #expect(try b.site.channelKeys(onB).publicKey == after.publicKey, "b cannot sign with the new key")
        try deliver(b, to: a)  // b's location, re-signed with the new key
        #expect(try a.digest("alice") == b.digest("alice"))
        #expect(try a.recomputedDigest("alice") == a.digest("alice"))

        // A packet under the old id (a clone that never applied the rekey) is refused.
        let c = try TestSite(url: "https://c.example", seed: 3)
        defer { c.remove() }
        _ = try b.site.createChannel(nickname: "bob")
        let stale = try Envelope(type: .sync, sender: before.portableID, siteID: b.site.identity().siteID, recipients: [before.portableID],
                                 data: a.site.nextPacket(channel: "alice", to: b.location("alice")).envelope.data)
        do {
            _ = try a.site.openSync(stale)
            Issue.record("a packet under the replaced id was opened")
        } catch EngineError.supersededID(let id, _) {
            #expect(id == before.portableID.text)
        }
    }

    @Test func aLinkRekeyKeepsBothIDsValid() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        let before = try a.site.channel(nickname: "alice")
        let outcome = try a.site.rekey(nickname: "alice", update: false)
        try deliver(a, to: b)
        for site in [a, b] {
            let old = try #require(try site.site.channel(named: before.portableID))
            #expect(old.valid && !old.isCurrent && old.publicKey == before.publicKey)
            #expect(try site.site.channel(nickname: "alice").portableID == outcome.newPortableID)
            let link = try site.site.state(nickname: "alice", entity: "link")
            #expect(link.count == 1 && link[0].key == before.portableID.text && link[0].body.contains(outcome.newPortableID.text))
        }
    }

    @Test func theNewSeedIsNeverInClearInTheLogOrTheDatabase() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        try a.site.rekey(nickname: "alice", update: true)
        try deliver(a, to: b)
        let seed = try a.site.channelKeys(a.site.channel(nickname: "alice")).seed.revealedCopy()
        for site in [a, b] {
            let log = try site.site.log(nickname: "alice").map { try WireJSON.encode($0) }.joined()
            #expect(!log.contains(Base64URL.encode(seed)) && !log.contains(seed.map { String(format: "%02x", $0) }.joined()))
            for file in try FileManager.default.contentsOfDirectory(atPath: site.directory) {
                let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: site.directory + "/" + file))) ?? Data())
                #expect(!contains(bytes, seed), "the new seed is in clear in \(file)")
            }
        }
    }

    @Test(arguments: ["bad new_sig", "bad old_sig", "swapped keys", "other channel"])
    func aForgedKeyEntryIsRefusedAndChangesNothing(forgery: String) throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        let channel = try a.site.channel(nickname: "alice")
        let old = try a.site.channelKeys(channel)
        let new = SigningKeyPair.generate(using: SeededRandom(seed: 99))
        let guid = forgery == "other channel" ? ChannelGUID.generate(using: SeededRandom(seed: 5)) : channel.guid
        var data = RekeyData(channel: guid, oldKey: old.publicKey, newKey: new.publicKey, update: true, date: "2026-12-01T00:00:00Z")
        var signed = try SignedRekey.make(data, old: old, new: new)
        switch forgery {
        case "bad new_sig": signed.newSig = old.signatureText(over: Array(signed.rekey.utf8))
        case "bad old_sig": signed.oldSig = new.signatureText(over: Array(signed.rekey.utf8))
        case "swapped keys":
            data = RekeyData(channel: guid, oldKey: new.publicKey, newKey: old.publicKey, update: true, date: data.date)
            let text = try WireJSON.encodeCanonical(data)
            signed = SignedRekey(rekey: text, oldSig: old.signatureText(over: Array(text.utf8)), newSig: new.signatureText(over: Array(text.utf8)))
        default: break
        }
        let body = KeyEntryBody(rekey: signed.rekey, oldSig: signed.oldSig, newSig: signed.newSig, seed: Base64URL.encode([UInt8](repeating: 1, count: 72)))
        let writer = try a.site.channel(nickname: "alice").writer
        let seq = try a.site.channelStatus(nickname: "alice").vector[writer] + 1
        let entry = ChangeEntry(origin: writer, seq: seq, hlc: HybridTimestamp(milliseconds: TestSite.start + 10, counter: 0),
                                         entity: "key", key: data.newPortableID.text, op: .put, body: try WireJSON.encodeCanonical(body))
        let digest = try b.digest("alice")
        do {
            _ = try b.site.replay(nickname: "alice", [entry])
            Issue.record("a key entry with \(forgery) was applied")
        } catch let error as EngineError {
            let why = error.description
            #expect(why.contains("rekey") || why.contains("sig"), "refused for another reason: \(why)")
        }
        #expect(try b.digest("alice") == digest)
        #expect(try b.site.channel(nickname: "alice").portableID == channel.portableID)
    }

    @Test func twoClonesRekeyingAtOnceEndOnOneKey() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        try a.site.rekey(nickname: "alice", update: false)
        b.clock.advance(by: 5)
        try b.site.rekey(nickname: "alice", update: false)
        try deliver(a, to: b)
        try deliver(b, to: a)
        try deliver(a, to: b)
        let onA = try a.site.channel(nickname: "alice"), onB = try b.site.channel(nickname: "alice")
        #expect(onA.publicKey == onB.publicKey && onA.portableID == onB.portableID)
        #expect(try a.digest("alice") == b.digest("alice"))
    }

    @Test func thePacketCarryingTheKeyEntryHoldsNoSeedInClearEvenOpened() throws {
        let (a, b) = try pair()
        defer { a.remove(); b.remove() }
        try a.site.rekey(nickname: "alice", update: true)
        let seed = try a.site.channelKeys(a.site.channel(nickname: "alice")).seed.revealedCopy()
        let packet = try a.site.nextPacket(channel: "alice", to: b.location("alice"))
        let wire = Array(try WireJSON.encode(packet.envelope).utf8)
        let opened = try b.site.openSync(packet.envelope)
        #expect(opened.data.entries.contains { $0.entity == "key" })
        let plain = Array(try WireJSON.encode(opened.data).utf8)
        for bytes in [wire, plain] {
            #expect(!contains(bytes, seed) && !contains(bytes, Array(Base64URL.encode(seed).utf8)))
            #expect(!contains(bytes, Array(seed.map { String(format: "%02x", $0) }.joined().utf8)))
        }
    }

    @Test func aCloneThatLacksAnEarlierRekeyIsPendingUntilItArrives() throws {
        let (a, b) = try pair()
        let c = try TestSite(url: "https://c.example", seed: 3)
        defer { a.remove(); b.remove(); c.remove() }
        try a.clone("alice", to: c)
        try deliver(c, to: a)
        try deliver(c, to: b)
        try a.site.rekey(nickname: "alice", update: false)   // K0 → K1, written by a
        try deliver(a, to: b)
        try b.site.rekey(nickname: "alice", update: false)   // K1 → K2, written by b
        let keyEntries = try b.site.log(nickname: "alice").filter { $0.entity == "key" }
        let bWriter = try b.site.channel(nickname: "alice").writer
        // c gets b's rekey alone (a partial log, as `log apply` of one file could give): it is
        // held behind the entries c lacks, and its predecessor K1 is unknown here.
        _ = try c.site.replay(nickname: "alice", keyEntries.filter { $0.origin == bWriter })
        let pending = try c.site.syncStatus(nickname: "alice").rekeyPending
        #expect(pending == (try b.site.channel(nickname: "alice").portableID))
        #expect(try c.site.channel(nickname: "alice").publicKey != (try b.site.channel(nickname: "alice").publicKey))
        // a's rekey arrives (held too): c opens K1 with K0, then K2 with K1.
        _ = try c.site.replay(nickname: "alice", keyEntries.filter { $0.origin != bWriter })
        #expect(try c.site.syncStatus(nickname: "alice").rekeyPending == nil)
        #expect(try c.site.channel(nickname: "alice").publicKey == (try b.site.channel(nickname: "alice").publicKey))
        #expect(try c.site.syncStatus(nickname: "alice").linkedIDs.count == 2)
    }

    @Test func aCloneStillOnAReplacedKeyLearnsTheRekeyFromTheRefusal() throws {
        let (a, b) = try pair()
        let c = try TestSite(url: "https://c.example", seed: 3)
        defer { a.remove(); b.remove(); c.remove() }
        let oldExport = try a.site.exportDocument(nickname: "alice")
        let outcome = try a.site.rekey(nickname: "alice", update: true)
        _ = try c.site.importDocument(oldExport)  // c joins from a copy made before the rekey
        let packet = try c.site.nextPacket(channel: "alice", to: a.location("alice"))
        do {
            _ = try a.site.openSync(packet.envelope)
            Issue.record("a packet under the replaced id was opened")
        } catch let error as EngineError {
            let (status, body) = error.refusal
            #expect(status == 410 && body.code == "rekeyed")
            let keys = try #require(body.keys)
            #expect(keys.contains { $0.key == outcome.newPortableID.text })
            try c.site.learnRekeys(nickname: "alice", keys)
        }
        #expect(try c.site.channel(nickname: "alice").portableID == outcome.newPortableID)
        // Now c's packets are accepted.
        let again = try c.site.nextPacket(channel: "alice", to: a.location("alice"))
        _ = try a.site.acceptSync(try a.site.openSync(again.envelope), token: UUID().uuidString)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }
}
