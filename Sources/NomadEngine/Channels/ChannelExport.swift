import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// What an import created.
public struct ImportReport: Sendable, Equatable {
    public var channel: HostedChannel
    public var replay: ReplayReport
}

extension Site {
    /// Writes the channel's identity, log and the blobs its `file` entries name that are here,
    /// encrypted under `passphrase` (Argon2id + secretstream). The plaintext is the document's
    /// JSON, then — when it lists blobs — one 0x00 byte and each blob's bytes in the listed order.
    public func exportChannel(nickname: String, passphrase: SecureBytes,
                              strength: PassphraseContainer.Strength = .moderate) throws -> [UInt8] {
        var document = try exportDocument(nickname: nickname)
        let store = blobs
        var seen = Set<String>()
        let channel = try record(nickname: nickname)
        let references = try self.store.read { tx in
            try tx.stateRows(channel: channel.rowID, entity: "file").compactMap { row -> FileReference? in
                guard row.op == .put, let hex = FileReference.parse(row.body)?.hex, seen.insert(hex).inserted,
                      let size = store.size(hex) else { return nil }
                return FileReference(hex: hex, size: size, name: nil)
            }
        }
        document.blobs = references.isEmpty ? nil : references
        var plain = Array(try WireJSON.encode(document).utf8)
        defer { for i in plain.indices { plain[i] = 0 } }
        if !references.isEmpty {
            plain.append(0)
            for reference in references {
                guard let bytes = FileManager.default.contents(atPath: store.path(reference.hex)) else {
                    throw EngineError.invalidArgument("blob \(reference.hex) vanished while exporting")
                }
                plain.append(contentsOf: bytes)
            }
        }
        return try PassphraseContainer.seal(plain, passphrase: passphrase, strength: strength, random: random)
    }

    /// The export's plaintext (private key included). Only for in-process clones (the
    /// simulator); anything that leaves the process goes through `exportChannel`.
    /// Without `entries`, only the identity and former keys (what a clone bootstrap seals).
    package func exportDocument(nickname: String, entries withEntries: Bool = true) throws -> ChannelExportDocument {
        let site = try identity()
        let channel = try record(nickname: nickname)
        guard channel.bootstrap == nil else { throw EngineError.bootstrapping(nickname) }
        let keys = try channelKeys(channel)
        let (entries, formers) = try store.read { tx -> ([ChangeEntry], [FormerKey]) in
            (withEntries ? try tx.entries(channel: channel.rowID) + tx.pendingEntries(channel: channel.rowID) : [],
             try tx.formerKeys(channel: channel.rowID))
        }
        let formerKeys = try formers.map { former -> ChannelExportDocument.FormerKey in
            let seed = try store.openSecret(former.seedSealed, what: "former channel key")
            return .init(portableID: former.portableID, publicKey: Base64URL.encode(former.publicKey),
                         secretSeed: Base64URL.encode(seed.revealedCopy()), valid: former.valid)
        }
        var seed = keys.seed.revealedCopy()
        defer { for i in seed.indices { seed[i] = 0 } }
        let document = ChannelExportDocument(
            format: ChannelExportDocument.format, exportedAt: clock.nowText(), fromSite: site.siteID,
            channel: .init(nickname: channel.nickname, name: channel.name, guid: channel.guid, portableID: channel.portableID,
                           publicKey: Base64URL.encode(channel.publicKey), secretSeed: Base64URL.encode(seed)),
            entries: entries, formerKeys: formerKeys.isEmpty ? nil : formerKeys)
        return document
    }

    /// Restores an export on this site, making it a clone: the channel with its keys, every entry
    /// of the log, and a new `location` entry for this site. Everything is checked first and
    /// written in one transaction, so a bad file creates nothing.
    public func importChannel(_ file: [UInt8], passphrase: SecureBytes) throws -> ImportReport {
        var plain = try PassphraseContainer.open(file, passphrase: passphrase)
        defer { for i in plain.indices { plain[i] = 0 } }
        // JSON text never holds a raw 0x00: the first one ends the document; blob bytes follow.
        let end = plain.firstIndex(of: 0) ?? plain.endIndex
        let document: ChannelExportDocument
        do {
            document = try WireJSON.decode(ChannelExportDocument.self, from: Data(plain[..<end]), what: "export file")
        } catch let error as ModelError {
            throw EngineError.invalidImport("the decrypted content is not a channel export (\(error))")
        }
        try importBlobs(document.blobs ?? [], from: plain[min(end + 1, plain.endIndex)...])
        return try importDocument(document)
    }

    /// Stores the blobs an export carries, each checked against its name; bytes that do not
    /// match, or run short or long, refuse the import.
    func importBlobs(_ references: [FileReference], from bytes: ArraySlice<UInt8>) throws {
        var offset = bytes.startIndex
        for reference in references.prefix(100_000) {
            guard let size = reference.size, let count = Int(exactly: size), bytes.endIndex - offset >= count else {
                throw EngineError.invalidImport("the file's blob bytes end before blob \(reference.hex.prefix(16))…")
            }
            let writer = try blobs.writer(maxBytes: Site.maxBlobBytes)
            try bytes[offset..<(offset + count)].withUnsafeBytes { try writer.write($0) }
            let (hex, _) = try writer.finish()
            guard hex == reference.hex else { throw EngineError.invalidImport("blob bytes do not hash to \(reference.hex.prefix(16))…") }
            offset += count
        }
        guard offset == bytes.endIndex else { throw EngineError.invalidImport("the file holds bytes after its last blob") }
    }

    /// Restores an export's plaintext (see `importChannel`).
    package func importDocument(_ document: ChannelExportDocument) throws -> ImportReport {
        let site = try identity()
        let (record, formers, keys) = try verifiedIdentity(document)
        var importLimits = limits
        importLimits.maxEntriesPerPacket = Int.max
        return try store.write { tx in
            if try tx.channel(portableID: record.portableID) != nil { throw EngineError.channelExists(record.portableID.text) }
            if try tx.channel(nickname: record.nickname) != nil { throw EngineError.channelExists("'\(record.nickname)'") }
            let stored = try tx.insertChannel(record)
            for former in formers { try tx.saveFormerKey(channel: stored.rowID, former) }
            let replay = try ReplayEngine(limits: importLimits).apply(document.entries, to: stored, in: tx, now: clock.nowMilliseconds())
            return ImportReport(channel: try becomeLocation(stored, keys: keys, site: site, in: tx), replay: replay)
        }
    }

    /// A new clone announces itself, inside `tx`: its `location` entry (not primary) is appended
    /// and queued for every other location, the channel settles on its agreed key, and a
    /// `refresh` goes to every location and connection.
    func becomeLocation(_ stored: ChannelRecord, keys: SigningKeyPair, site: SiteIdentity, in tx: StoreTransaction) throws -> HostedChannel {
        let location = try localLocation(channel: stored, keys: keys, site: site, primary: false)
        let refreshed = try tx.channel(rowID: stored.rowID) ?? stored
        let announced = try ChangeLog(limits: limits).append(
            [Change(entity: "location", key: site.siteID.text, op: .put, body: try WireJSON.encodeCanonical(location))],
            to: refreshed, in: tx, now: clock.nowMilliseconds())
        try queueForPeers(announced, channel: refreshed, siteID: site.siteID, in: tx)
        try settle(stored, in: tx)
        if let current = try tx.channel(rowID: stored.rowID), current.purgedAt == nil {
            try queueAnnouncement(.refresh, channel: current, site: site, in: tx)
        }
        return HostedChannel(try tx.channel(rowID: stored.rowID) ?? stored)
    }

    /// Checks an export's identity — the seed derives the public key, the portable_id derives
    /// from guid and key, every former key likewise — and returns the channel row to insert
    /// (a fresh writer, seeds sealed under the host key) with its former keys and key pair.
    func verifiedIdentity(_ document: ChannelExportDocument) throws -> (ChannelRecord, [FormerKey], SigningKeyPair) {
        guard document.format == ChannelExportDocument.format else {
            throw EngineError.invalidImport("unsupported export format '\(document.format.prefix(60))'")
        }
        let identityDoc = document.channel
        try Names.validateNickname(identityDoc.nickname)
        let publicKey = try Base64URL.decode(identityDoc.publicKey, what: "public_key", length: SigningKeyPair.publicKeyLength)
        var seedBytes = try Base64URL.decode(identityDoc.secretSeed, what: "secret_seed", length: SigningKeyPair.seedLength)
        let keys = try SigningKeyPair(seed: SecureBytes(seedBytes))
        for i in seedBytes.indices { seedBytes[i] = 0 }
        guard keys.publicKey == publicKey else { throw EngineError.invalidImport("the private key does not match the public key") }
        guard PortableID(guid: identityDoc.guid, publicKey: publicKey) == identityDoc.portableID else {
            throw EngineError.invalidImport("portable_id is not derived from guid and public key")
        }
        let formers = try (document.formerKeys ?? []).prefix(1000).map { former -> FormerKey in
            var bytes = try Base64URL.decode(former.secretSeed, what: "former secret_seed", length: SigningKeyPair.seedLength)
            let pair = try SigningKeyPair(seed: SecureBytes(bytes))
            for i in bytes.indices { bytes[i] = 0 }
            guard Base64URL.encode(pair.publicKey) == former.publicKey,
                  PortableID(guid: identityDoc.guid, publicKey: pair.publicKey) == former.portableID, pair.publicKey != publicKey else {
                throw EngineError.invalidImport("a former key does not match its public key or portable_id")
            }
            return FormerKey(portableID: former.portableID, publicKey: pair.publicKey,
                             seedSealed: try store.sealSecret(pair.seed, random: random), valid: former.valid)
        }
        let record = ChannelRecord(
            nickname: identityDoc.nickname, name: identityDoc.name, guid: identityDoc.guid, portableID: identityDoc.portableID,
            publicKey: publicKey, seedSealed: try store.sealSecret(keys.seed, random: random),
            writer: OriginID.generate(using: random), digest: StateDigest.zero.bytes, createdAt: clock.nowText())
        return (record, formers, keys)
    }
}
