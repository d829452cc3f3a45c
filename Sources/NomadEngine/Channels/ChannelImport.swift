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
    /// The longest header line and entry line an import reads (format 2).
    static let maxExportHeaderBytes = 64 << 20
    static let maxExportLineBytes = 16 << 20
    /// Entry lines replayed at a time.
    static let importBatch = 500

    /// Restores an export on this site, making it a clone: the channel with its keys, every entry
    /// of the log, the blobs it carries, and a new `location` entry for this site. The file is
    /// read a chunk at a time, its entries replayed a batch at a time, all in one transaction
    /// that commits only after the container's end verified: a bad, cut or altered file creates
    /// no channel (blobs already checked against their names may stay in the blob store, named by
    /// nothing). Reads format 2 and the earlier format 1 (docs/PROTOCOL.md §6).
    ///
    /// ```swift
    /// let handle = try FileHandle(forReadingFrom: url)
    /// let report = try site.importChannel(passphrase: pass, from: .init { try handle.read(upToCount: $0).map(Array.init) ?? [] })
    /// ```
    public func importChannel(passphrase: SecureBytes, from source: PassphraseContainer.Source) throws -> ImportReport {
        let plain = ExportPlaintext(try PassphraseContainer.Reader(passphrase: passphrase, source: source))
        // Format 2 starts with a header line; format 1 is one JSON document (no raw newline in
        // it), ended by the plaintext's end or by the 0x00 before its blob bytes.
        let (first, terminator) = try plain.segment(endingAt: [ExportPlaintext.newline, 0], maxBytes: Int.max, what: "the export's first line")
        guard terminator == ExportPlaintext.newline else {
            let document = try decodeExport(ChannelExportDocument.self, first)
            try importBlobs(document.blobs ?? [], from: plain)
            guard try plain.isAtEnd() else { throw EngineError.invalidImport("the file holds bytes after its last blob") }
            return try importDocument(document)
        }
        guard first.count <= Self.maxExportHeaderBytes else { throw EngineError.invalidImport("the export's header is over \(Self.maxExportHeaderBytes) bytes") }
        let header = try decodeExport(ChannelExportHeader.self, first)
        guard header.format == ChannelExportHeader.format, header.entryCount >= 0 else {
            throw EngineError.invalidImport("unsupported export format '\(header.format.prefix(60))'")
        }
        let site = try identity()
        let (record, formers, keys) = try verifiedIdentity(header.channel, formerKeys: header.formerKeys ?? [])
        try importBlobs(header.blobs ?? [], from: plain)
        var importLimits = limits
        importLimits.maxEntriesPerPacket = Int.max
        let engine = ReplayEngine(limits: importLimits)
        return try store.write { tx in
            if try tx.channel(portableID: record.portableID) != nil { throw EngineError.channelExists(record.portableID.text) }
            if try tx.channel(nickname: record.nickname) != nil { throw EngineError.channelExists("'\(record.nickname)'") }
            let stored = try tx.insertChannel(record)
            for former in formers { try tx.saveFormerKey(channel: stored.rowID, former) }
            var total = ReplayReport()
            var read = 0
            while read < header.entryCount {
                var batch: [ChangeEntry] = []
                while batch.count < Self.importBatch, read < header.entryCount {
                    read += 1
                    let line = try plain.line(maxBytes: Self.maxExportLineBytes, what: "entry line \(read)")
                    do {
                        batch.append(try ChangeEntry.fastWire(line) ?? WireJSON.decode(ChangeEntry.self, from: Data(line), what: "entry line \(read)"))
                    } catch let error as ModelError {
                        throw EngineError.invalidImport("\(error)")
                    }
                }
                guard let current = try tx.channel(rowID: stored.rowID) else { throw EngineError.channelNotFound(record.nickname) }
                let report = try engine.apply(batch, to: current, in: tx, now: clock.nowMilliseconds())
                total.applied += report.applied
                total.duplicate += report.duplicate
                total.missing = report.missing
                total.digest = report.digest
            }
            // Nothing commits before the container's end has verified.
            guard try plain.isAtEnd() else { throw EngineError.invalidImport("the file holds bytes after its last entry") }
            total.held = try tx.pendingCount(channel: stored.rowID)
            let channel = try becomeLocation(stored, keys: keys, site: site, in: tx)
            if total.digest.isEmpty { total.digest = StateDigest(bytes: (try tx.channel(rowID: stored.rowID) ?? stored).digest).hex }
            return ImportReport(channel: channel, replay: total)
        }
    }

    /// `importChannel(passphrase:from:)` of a file held in memory (the admin API's adopt).
    public func importChannel(_ file: [UInt8], passphrase: SecureBytes) throws -> ImportReport {
        try importChannel(passphrase: passphrase, from: .bytes(file))
    }

    private func decodeExport<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        var bytes = bytes
        defer { for i in bytes.indices { bytes[i] = 0 } }
        do {
            return try WireJSON.decode(type, from: Data(bytes), what: "export file")
        } catch let error as ModelError {
            throw EngineError.invalidImport("the decrypted content is not a channel export (\(error))")
        }
    }

    /// Stores the blobs an export carries, each checked against its name; bytes that do not
    /// match, or run short, refuse the import.
    func importBlobs(_ references: [FileReference], from plain: ExportPlaintext) throws {
        guard references.count <= 100_000 else { throw EngineError.invalidImport("the file lists more than 100,000 blobs") }
        for reference in references {
            guard let size = reference.size, size <= Site.maxBlobBytes else {
                throw EngineError.invalidImport("blob \(reference.hex.prefix(16))… has no size or is over the blob limit")
            }
            let writer = try blobs.writer(maxBytes: Site.maxBlobBytes)
            try plain.read(size, what: "blob \(reference.hex.prefix(16))…") { try writer.write($0) }
            let (hex, _) = try writer.finish()
            guard hex == reference.hex else { throw EngineError.invalidImport("blob bytes do not hash to \(reference.hex.prefix(16))…") }
        }
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

    /// Checks a format-1 document's identity (see below).
    func verifiedIdentity(_ document: ChannelExportDocument) throws -> (ChannelRecord, [FormerKey], SigningKeyPair) {
        guard document.format == ChannelExportDocument.format else {
            throw EngineError.invalidImport("unsupported export format '\(document.format.prefix(60))'")
        }
        return try verifiedIdentity(document.channel, formerKeys: document.formerKeys ?? [])
    }

    /// Checks an export's identity (either format) — the seed derives the public key, the portable_id derives
    /// from guid and key, every former key likewise — and returns the channel row to insert
    /// (a fresh writer, seeds sealed under the host key) with its former keys and key pair.
    func verifiedIdentity(_ identityDoc: ChannelExportDocument.Identity,
                          formerKeys: [ChannelExportDocument.FormerKey]) throws -> (ChannelRecord, [FormerKey], SigningKeyPair) {
        try Names.validateNickname(identityDoc.nickname)
        let publicKey = try Base64URL.decode(identityDoc.publicKey, what: "public_key", length: SigningKeyPair.publicKeyLength)
        var seedBytes = try Base64URL.decode(identityDoc.secretSeed, what: "secret_seed", length: SigningKeyPair.seedLength)
        let keys = try SigningKeyPair(seed: SecureBytes(seedBytes))
        for i in seedBytes.indices { seedBytes[i] = 0 }
        guard keys.publicKey == publicKey else { throw EngineError.invalidImport("the private key does not match the public key") }
        guard PortableID(guid: identityDoc.guid, publicKey: publicKey) == identityDoc.portableID else {
            throw EngineError.invalidImport("portable_id is not derived from guid and public key")
        }
        let formers = try formerKeys.prefix(1000).map { former -> FormerKey in
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
