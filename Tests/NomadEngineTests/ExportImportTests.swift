import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

@Suite struct ExportImportTests {
    @Test func importMakesACloneHoldingTheWholeLogAndItsOwnLocation() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        let channel = try a.site.createChannel(nickname: "alice", name: "Alice")
        for i in 0..<50 { _ = try a.put("alice", "k\(i)", "{\"i\":\(i)}") }
        let file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        let report = try b.site.importChannel(file, passphrase: TestSite.passphrase)
        #expect(report.channel.portableID == channel.portableID)
        #expect(report.channel.writer != channel.writer)
        #expect(report.replay.applied == 52)
        let status = try b.site.channelStatus(nickname: "alice")
        #expect(status.entries == 53)
        #expect(Set(status.locations.map(\.url)) == ["https://a.example", "https://b.example"])
        #expect(status.locations.first { $0.url == "https://b.example" }?.primary == false)
        // The imported key is the channel's key: it verifies url_sig of both locations.
        for location in status.locations { try location.verifyURLSignature(channelPublicKey: channel.publicKey) }
        #expect(try b.site.channelKeys(report.channel).publicKey == channel.publicKey)
    }

    @Test func aWrongPassphraseCreatesNothing() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        #expect(throws: CryptoError.wrongPassphrase) {
            try b.site.importChannel(file, passphrase: SecureBytes(Array("guess".utf8)))
        }
        #expect(try b.site.channels().isEmpty)
    }

    @Test func aDamagedFileCreatesNothing() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        var file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        file[file.count - 20] ^= 0xff
        #expect(throws: CryptoError.self) { try b.site.importChannel(file, passphrase: TestSite.passphrase) }
        #expect(throws: CryptoError.self) { try b.site.importChannel(Array(file.prefix(file.count / 2)), passphrase: TestSite.passphrase) }
        #expect(try b.site.channels().isEmpty)
    }

    @Test func importingTwiceIsRefused() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        _ = try b.site.importChannel(file, passphrase: TestSite.passphrase)
        let before = try b.site.channelStatus(nickname: "alice")
        #expect(throws: EngineError.self) { try b.site.importChannel(file, passphrase: TestSite.passphrase) }
        #expect(try b.site.channelStatus(nickname: "alice") == before)
    }
}

@Suite struct SecretsAtRestTests {
    /// Every file of the data directory except the host key, concatenated.
    func dataBytes(_ dir: String) throws -> [UInt8] {
        var out: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name != "host.key" {
            out += Array(FileManager.default.contents(atPath: dir + "/" + name) ?? Data())
        }
        return out
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            (0...(h.count - needle.count)).contains { i in h[i] == needle[0] && Array(h[i..<i + needle.count]) == needle }
        }
    }

    @Test func noPrivateKeyIsStoredInClear() throws {
        let a = try TestSite(seed: 5); defer { a.remove() }
        let channel = try a.site.createChannel(nickname: "alice")
        for i in 0..<10 { _ = try a.put("alice", "k\(i)", "{}") }
        let site = try a.site.identity()
        let secrets = [try a.site.channelKeys(channel).seed.revealedCopy(), site.signing.seed.revealedCopy(), site.seal.seed.revealedCopy()]
        let bytes = try dataBytes(a.directory)
        #expect(bytes.count > 10_000)
        for secret in secrets {
            #expect(!contains(bytes, secret))
            #expect(!contains(bytes, Array(Base64URL.encode(secret).utf8)))
            #expect(!contains(bytes, Array(Hex.encode(secret).utf8)))
        }
        // The check can fail: the public key is stored in clear and is found.
        #expect(contains(bytes, channel.publicKey))
    }

    @Test func theExportFileHoldsNoKeyInClear() throws {
        let a = try TestSite(seed: 6); defer { a.remove() }
        let channel = try a.site.createChannel(nickname: "alice")
        let seed = try a.site.channelKeys(channel).seed.revealedCopy()
        let file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        #expect(!contains(file, seed) && !contains(file, Array(Base64URL.encode(seed).utf8)))
        #expect(!contains(file, Array("alice".utf8)))
    }
}

@Suite struct SyncPacketTests {
    @Test func aSealedPacketCarriesTheLogToTheRecipientSite() throws {
        let (a, b) = try TestSite.clonedPair(); defer { a.remove(); b.remove() }
        for i in 0..<5 { _ = try a.put("alice", "k\(i)", "{}") }
        let envelope = try a.site.sealSync(nickname: "alice", to: try b.site.identity().card)
        let body = Data(try WireJSON.encode(envelope).utf8)
        guard case .applied(let nick, let report) = try b.site.receive(body) else { Issue.record("not applied"); return }
        #expect(nick == "alice" && report.applied == 5)
    }

    @Test func aPacketForAnotherSiteDoesNotOpen() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        let c = try TestSite(url: "https://c.example", seed: 3); defer { c.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        try a.clone("alice", to: b)
        try a.clone("alice", to: c)
        let envelope = try a.site.sealSync(nickname: "alice", to: try b.site.identity().card)
        let before = try c.digest("alice")
        #expect(throws: (any Error).self) { try c.site.receive(Data(try WireJSON.encode(envelope).utf8)) }
        #expect(try c.digest("alice") == before)
    }

    @Test func aSiteThatIsNotALocationIsRefused() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        let stranger = try TestSite(url: "https://evil.example", seed: 3); defer { stranger.remove() }
        let alice = try a.site.createChannel(nickname: "alice")
        try a.clone("alice", to: b)
        // The stranger knows alice's public portable_id and b's public keys, nothing else.
        let strangerID = try stranger.site.identity().siteID
        let bCard = try b.site.identity().card
        let data = SyncData(channel: alice.portableID, from: strangerID, entries: [], vector: VersionVector(), digest: StateDigest.zero.hex)
        let binding = Envelope.binding(type: .sync, sender: alice.portableID, siteID: strangerID, recipientSiteID: bCard.siteID)
        let sealed = try SealedPayload.seal(Array(try WireJSON.encode(data).utf8), to: try Base64URL.decode(bCard.sealkey),
                                            additionalData: binding, random: SystemRandom())
        let envelope = Envelope(type: .sync, sender: alice.portableID, siteID: strangerID, recipients: [alice.portableID], data: sealed)
        #expect {
            try b.site.receive(Data(try WireJSON.encode(envelope).utf8))
        } throws: { error in
            guard case EngineError.unknownSender = error else { return false }
            return "\(error)".contains("not a location")
        }
    }

    @Test func anUnknownEncodingAppliesNothing() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let before = try a.digest("alice")
        let body = #"{"type":"sync","encoding":"hz","sender":"x","data":{"entries":[]}}"#
        #expect(try a.site.receive(Data(body.utf8)) == .ignored(encoding: "hz"))
        #expect(try a.digest("alice") == before)
    }

    @Test func anExportCarriesTheBlobsItsFileEntriesName() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        var names: [String] = []
        for (i, size) in [0, 10, 70_000].enumerated() {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            let writer = try a.site.blobs.writer(maxBytes: 1 << 20)
            try bytes.withUnsafeBytes { try writer.write($0) }
            let (hex, stored) = try writer.finish()
            a.clock.advance(by: 1)
            try a.site.addFile(nickname: "alice", key: "f\(i)", hex: hex, size: stored, name: "f\(i).bin")
            names.append(hex)
        }
        let file = try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive)
        _ = try b.site.importChannel(file, passphrase: TestSite.passphrase)
        for hex in names {
            #expect(b.site.blobs.has(hex))
            #expect(FileManager.default.contents(atPath: b.site.blobs.path(hex)) == FileManager.default.contents(atPath: a.site.blobs.path(hex)))
        }
        #expect(try b.site.missingBlobs(nickname: "alice").isEmpty)
    }

    @Test func aFileEntryMustNameItsBytes() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        #expect(throws: EngineError.self) { try a.put("alice", "f", #"{"name":"x.jpg"}"#, entity: "file") }
        #expect(throws: EngineError.self) { try a.put("alice", "f", #"{"hash":"sha256://ABC"}"#, entity: "file") }
    }
}
