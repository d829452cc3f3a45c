import Foundation
import NomadCrypto
import NomadModel
import Testing
@testable import NomadEngine

/// The export file's plaintext (format 2): a header line, blob bytes, one line per entry; read
/// back a chunk at a time, and refused whole when any part is wrong.
@Suite struct ExportFormatTests {
    static let newline = UInt8(ascii: "\n")

    func plaintext(_ file: [UInt8]) throws -> [UInt8] { try PassphraseContainer.open(file, passphrase: TestSite.passphrase) }

    func sealed(_ plain: [UInt8]) throws -> [UInt8] {
        try PassphraseContainer.seal(plain, passphrase: TestSite.passphrase, strength: .interactive, random: SystemRandom())
    }

    /// A with alice holding `count` puts, and its export's plaintext split into lines.
    func exported(puts count: Int) throws -> (a: TestSite, lines: [[UInt8]]) {
        let a = try TestSite(seed: 1)
        _ = try a.site.createChannel(nickname: "alice")
        for i in 0..<count { _ = try a.put("alice", "k\(i)", "{\"i\":\(i)}") }
        let plain = try plaintext(try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive))
        #expect(plain.last == Self.newline)
        return (a, plain.split(separator: Self.newline, omittingEmptySubsequences: false).dropLast().map(Array.init))
    }

    func joined(_ lines: [[UInt8]]) -> [UInt8] { lines.flatMap { $0 + [Self.newline] } }

    @Test func anExportIsAHeaderLineThenOneLinePerEntryInLogOrder() throws {
        let (a, lines) = try exported(puts: 30)
        defer { a.remove() }
        let header = try WireJSON.decode(ChannelExportHeader.self, from: Data(lines[0]), what: "header")
        #expect(header.format == "nomadsync-channel-export/2")
        #expect(header.entryCount == 32)
        #expect(header.blobs == nil)
        let ids = try lines.dropFirst().map { try WireJSON.decode(ChangeEntry.self, from: Data($0), what: "entry").id }
        #expect(ids == (try a.site.log(nickname: "alice").map(\.id)))
    }

    @Test func aFormatOneFileWithBlobsStillImports() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = try a.site.blobs.writer(maxBytes: 1 << 20)
        try bytes.withUnsafeBytes { try writer.write($0) }
        let (hex, size) = try writer.finish()
        try a.site.addFile(nickname: "alice", key: "f", hex: hex, size: size, name: "f.bin")
        // What earlier versions wrote: one JSON document, 0x00, the blob bytes.
        var document = try a.site.exportDocument(nickname: "alice")
        document.blobs = [FileReference(hex: hex, size: size, name: nil)]
        let file = try sealed(Array(try WireJSON.encode(document).utf8) + [0] + bytes)
        let report = try b.site.importChannel(file, passphrase: TestSite.passphrase)
        #expect(report.replay.applied == document.entries.count)
        #expect(try b.site.log(nickname: "alice").count == document.entries.count + 1)
        #expect(FileManager.default.contents(atPath: b.site.blobs.path(hex)) == Data(bytes))
    }

    @Test func aFileWithFewerEntryLinesThanItsHeaderSaysCreatesNothing() throws {
        let (a, lines) = try exported(puts: 10)
        defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        #expect(throws: EngineError.invalidImport("the file ends inside entry line 12")) {
            try b.site.importChannel(try sealed(joined(lines.dropLast())), passphrase: TestSite.passphrase)
        }
        #expect(try b.site.channels().isEmpty)
    }

    @Test func linesAfterTheLastCountedEntryCreateNothing() throws {
        let (a, lines) = try exported(puts: 10)
        defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        #expect(throws: EngineError.invalidImport("the file holds bytes after its last entry")) {
            try b.site.importChannel(try sealed(joined(lines + [lines[5]])), passphrase: TestSite.passphrase)
        }
        #expect(try b.site.channels().isEmpty)
    }

    @Test func aBadEntryLineAfterWholeBatchesWereReplayedCreatesNothing() throws {
        let (a, lines) = try exported(puts: 1_200)
        defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        var broken = lines
        broken[1_100] = Array(#"{"id":"nope"}"#.utf8)
        #expect(throws: EngineError.self) { try b.site.importChannel(try sealed(joined(broken)), passphrase: TestSite.passphrase) }
        #expect(try b.site.channels().isEmpty)
        // The same file with the line intact imports whole.
        let report = try b.site.importChannel(try sealed(joined(lines)), passphrase: TestSite.passphrase)
        #expect(report.replay.applied == 1_202)
        #expect(try b.site.log(nickname: "alice").count == 1_203)  // and B's own location entry
    }

    @Test func aBlobThatDoesNotHashToItsNameCreatesNothing() throws {
        let a = try TestSite(seed: 1); defer { a.remove() }
        let b = try TestSite(url: "https://b.example", seed: 2); defer { b.remove() }
        _ = try a.site.createChannel(nickname: "alice")
        let writer = try a.site.blobs.writer(maxBytes: 1 << 20)
        try Array("blob bytes".utf8).withUnsafeBytes { try writer.write($0) }
        let (hex, size) = try writer.finish()
        try a.site.addFile(nickname: "alice", key: "f", hex: hex, size: size, name: "f.txt")
        var plain = try plaintext(try a.site.exportChannel(nickname: "alice", passphrase: TestSite.passphrase, strength: .interactive))
        let blobAt = try #require(plain.firstIndex(of: Self.newline)) + 1
        #expect(Array(plain[blobAt..<(blobAt + 10)]) == Array("blob bytes".utf8))
        plain[blobAt] ^= 0x01
        #expect(throws: EngineError.self) { try b.site.importChannel(try sealed(plain), passphrase: TestSite.passphrase) }
        #expect(try b.site.channels().isEmpty)
        #expect(!b.site.blobs.has(hex))
    }
}
