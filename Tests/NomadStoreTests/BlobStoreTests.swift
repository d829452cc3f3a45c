import Foundation
import NomadCrypto
import Testing
@testable import NomadStore

/// Blob files: named by their SHA-256, kept only when the bytes match the name.
struct BlobStoreTests {
    let directory = NSTemporaryDirectory() + "nomadsync-blob-test-\(UUID().uuidString)"
    var blobs: BlobStore { BlobStore(directory: directory) }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "nomadsync-piece-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func aWrittenBlobIsNamedByItsSHA256() throws {
        defer { remove() }
        let bytes = Array("hello blobs".utf8)
        let writer = try blobs.writer(maxBytes: 1 << 20)
        try bytes.prefix(5).withUnsafeBytes { try writer.write($0) }
        try bytes.dropFirst(5).withUnsafeBytes { try writer.write($0) }
        let (hex, size) = try writer.finish()
        #expect(hex == Hex.encode(SHA256.hash(bytes)))
        #expect(size == UInt64(bytes.count) && blobs.size(hex) == size)
        #expect(try Data(contentsOf: URL(fileURLWithPath: blobs.path(hex))) == Data(bytes))
    }

    @Test func aBlobOverTheLimitIsNotKept() throws {
        defer { remove() }
        let writer = try blobs.writer(maxBytes: 4)
        #expect(throws: StoreError.self) { try [UInt8](repeating: 1, count: 5).withUnsafeBytes { try writer.write($0) } }
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobs.root + "/tmp").isEmpty)
    }

    @Test func piecesAppendedInTurnBecomeTheBlobOnceTheHashMatches() throws {
        defer { remove() }
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let hex = Hex.encode(SHA256.hash(bytes))
        try blobs.appendPartial(hex, from: try temporaryFile(Array(bytes.prefix(1000))), replace: false)
        #expect(blobs.partialSize(hex) == 1000 && !blobs.has(hex))
        try blobs.appendPartial(hex, from: try temporaryFile(Array(bytes.dropFirst(1000))), replace: false)
        #expect(try blobs.finishPartial(hex, maxBytes: 1 << 20))
        #expect(blobs.has(hex) && blobs.partialSize(hex) == 0)
    }

    @Test func bytesThatDoNotHashToTheNameAreDropped() throws {
        defer { remove() }
        let hex = Hex.encode(SHA256.hash(Array("the real bytes".utf8)))
        try blobs.appendPartial(hex, from: try temporaryFile(Array("<html>error page</html>".utf8)), replace: false)
        #expect(try !blobs.finishPartial(hex, maxBytes: 1 << 20))
        #expect(!blobs.has(hex) && blobs.partialSize(hex) == 0)
    }

    @Test(arguments: ["", "abc", String(repeating: "A", count: 64), String(repeating: "g", count: 64), "../" + String(repeating: "a", count: 61)])
    func onlySixtyFourLowercaseHexDigitsNameABlob(_ name: String) {
        #expect(!BlobStore.isValid(name))
        #expect(!blobs.has(name))
    }
}
