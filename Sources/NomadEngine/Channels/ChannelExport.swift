import Foundation
import NomadCrypto
import NomadModel
import NomadStore

/// What an export wrote.
public struct ExportReport: Sendable, Equatable {
    /// Entry lines: applied and held entries.
    public var entries: Int
    /// Blobs whose bytes the file carries.
    public var blobs: Int
    /// The file's size.
    public var bytes: Int
}

extension Site {
    /// Writes the channel's identity (private key included), the blobs its live `file` entries
    /// name that are here, and its whole log, sealed under `passphrase` (Argon2id +
    /// secretstream, docs/PROTOCOL.md §6), to `sink` a 64 KiB chunk at a time. Everything is read
    /// from one snapshot of the store, one page of entries at a time: memory stays flat in the
    /// length of the log.
    ///
    /// ```swift
    /// let handle = try FileHandle(forWritingTo: url)
    /// let report = try site.exportChannel(nickname: "alice", passphrase: pass) { try handle.write(contentsOf: $0) }
    /// ```
    @discardableResult
    public func exportChannel(nickname: String, passphrase: SecureBytes, strength: PassphraseContainer.Strength = .moderate,
                              to sink: @escaping ([UInt8]) throws -> Void) throws -> ExportReport {
        let site = try identity()
        // The key derivation (up to seconds) before the snapshot is taken.
        let writer = try PassphraseContainer.Writer(passphrase: passphrase, strength: strength, random: random, sink: sink)
        var report = try store.read { tx in try writeExport(nickname: nickname, site: site, to: writer, in: tx) }
        try writer.finish()
        report.bytes = writer.bytesWritten
        return report
    }

    /// `exportChannel(nickname:passphrase:strength:to:)` into memory (tests, the bench).
    public func exportChannel(nickname: String, passphrase: SecureBytes,
                              strength: PassphraseContainer.Strength = .moderate) throws -> [UInt8] {
        var file: [UInt8] = []
        try exportChannel(nickname: nickname, passphrase: passphrase, strength: strength) { file += $0 }
        return file
    }

    /// The export's plaintext (format 2) from `tx`'s snapshot into `writer`: the header line,
    /// each blob's bytes, then one line per entry, applied ones in log order and held ones after.
    private func writeExport(nickname: String, site: SiteIdentity, to writer: PassphraseContainer.Writer,
                             in tx: StoreTransaction) throws -> ExportReport {
        guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
        guard channel.bootstrap == nil else { throw EngineError.bootstrapping(nickname) }
        let blobStore = blobs
        var seen = Set<String>()
        let references = try tx.stateRows(channel: channel.rowID, entity: "file").compactMap { row -> FileReference? in
            guard row.op == .put, let hex = FileReference.parse(row.body)?.hex, seen.insert(hex).inserted,
                  let size = blobStore.size(hex) else { return nil }
            return FileReference(hex: hex, size: size, name: nil)
        }
        let applied = try tx.entryCount(channel: channel.rowID)
        let held = try tx.pendingCount(channel: channel.rowID)
        let header = ChannelExportHeader(
            exportedAt: clock.nowText(), fromSite: site.siteID,
            channel: try exportIdentity(channel), formerKeys: try exportFormerKeys(channel, in: tx),
            blobs: references.isEmpty ? nil : references, entryCount: applied + held)
        var line = Array(try WireJSON.encode(header).utf8) + [ExportPlaintext.newline]
        defer { for i in line.indices { line[i] = 0 } }
        try writer.write(line)
        for reference in references { try copyBlob(reference, from: blobStore, to: writer) }
        var written = 0
        var position: Int64 = 0
        while let last = try writeLines(try tx.entries(channel: channel.rowID, afterPosition: position, limit: 1_000), to: writer, counting: &written) {
            position = last.position
        }
        var after: (origin: OriginID, seq: UInt64)?
        while let last = try writeLines(try tx.pendingEntries(channel: channel.rowID, after: after, limit: 1_000).map { (position: Int64(0), entry: $0) },
                                        to: writer, counting: &written) {
            after = (last.entry.origin, last.entry.seq)
        }
        guard written == applied + held else { throw EngineError.invalidArgument("the log changed while exporting") }
        return ExportReport(entries: written, blobs: references.count, bytes: 0)
    }

    /// Writes each entry as a line; the last one, nil for an empty page.
    private func writeLines(_ page: [(position: Int64, entry: ChangeEntry)], to writer: PassphraseContainer.Writer,
                            counting written: inout Int) throws -> (position: Int64, entry: ChangeEntry)? {
        for item in page {
            try writer.write(item.entry.wireJSON + [ExportPlaintext.newline])
        }
        written += page.count
        return page.last
    }

    /// Streams one blob's bytes; its size must still be the one listed in the header.
    private func copyBlob(_ reference: FileReference, from blobStore: BlobStore, to writer: PassphraseContainer.Writer) throws {
        guard let handle = FileHandle(forReadingAtPath: blobStore.path(reference.hex)) else {
            throw EngineError.invalidArgument("blob \(reference.hex) vanished while exporting")
        }
        defer { try? handle.close() }
        var copied: UInt64 = 0
        while let piece = try handle.read(upToCount: 1 << 16), !piece.isEmpty {
            try piece.withUnsafeBytes { try writer.write($0) }
            copied += UInt64(piece.count)
        }
        guard copied == reference.size else { throw EngineError.invalidArgument("blob \(reference.hex) changed while exporting") }
    }

    /// The identity block of an export: the channel's names and keys, its seed included.
    private func exportIdentity(_ channel: ChannelRecord) throws -> ChannelExportDocument.Identity {
        let keys = try channelKeys(channel)
        var seed = keys.seed.revealedCopy()
        defer { for i in seed.indices { seed[i] = 0 } }
        return .init(nickname: channel.nickname, name: channel.name, guid: channel.guid, portableID: channel.portableID,
                     publicKey: Base64URL.encode(channel.publicKey), secretSeed: Base64URL.encode(seed))
    }

    private func exportFormerKeys(_ channel: ChannelRecord, in tx: StoreTransaction) throws -> [ChannelExportDocument.FormerKey]? {
        let formers = try tx.formerKeys(channel: channel.rowID).map { former -> ChannelExportDocument.FormerKey in
            let seed = try store.openSecret(former.seedSealed, what: "former channel key")
            return .init(portableID: former.portableID, publicKey: Base64URL.encode(former.publicKey),
                         secretSeed: Base64URL.encode(seed.revealedCopy()), valid: former.valid)
        }
        return formers.isEmpty ? nil : formers
    }

    /// The export's plaintext (private key included). Only for in-process clones (the
    /// simulator); anything that leaves the process goes through `exportChannel`.
    /// Without `entries`, only the identity and former keys (what a clone bootstrap seals).
    package func exportDocument(nickname: String, entries withEntries: Bool = true) throws -> ChannelExportDocument {
        let site = try identity()
        let channel = try record(nickname: nickname)
        guard channel.bootstrap == nil else { throw EngineError.bootstrapping(nickname) }
        let (entries, formerKeys) = try store.read { tx -> ([ChangeEntry], [ChannelExportDocument.FormerKey]?) in
            (withEntries ? try tx.entries(channel: channel.rowID) + tx.pendingEntries(channel: channel.rowID) : [],
             try exportFormerKeys(channel, in: tx))
        }
        return ChannelExportDocument(
            format: ChannelExportDocument.format, exportedAt: clock.nowText(), fromSite: site.siteID,
            channel: try exportIdentity(channel), entries: entries, formerKeys: formerKeys)
    }
}
