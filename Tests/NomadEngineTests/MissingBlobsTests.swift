import Foundation
import NomadModel
import Testing
@testable import NomadEngine

/// The delivery worker asks for missing blobs after every pass (`missingBlobs(dueOnly: true)`).
/// A look that found none stands until a `file` entry comes or `blobRescanMilliseconds` pass;
/// a full look (`dueOnly: false`) always reads every file row.
@Suite struct MissingBlobsTests {
    /// A site whose channel `alice` names one blob it holds, and the blob's name.
    func siteWithOneStoredFile() throws -> (TestSite, String) {
        let a = try TestSite(seed: 1)
        _ = try a.site.createChannel(nickname: "alice")
        let writer = try a.site.blobs.writer(maxBytes: 1 << 20)
        try Array("some bytes".utf8).withUnsafeBytes { try writer.write($0) }
        let (hex, size) = try writer.finish()
        a.clock.advance(by: 1)
        try a.site.addFile(nickname: "alice", key: "photo", hex: hex, size: size, name: "photo.bin")
        return (a, hex)
    }

    func put(_ a: TestSite, entity: String, key: String, body: String) throws {
        a.clock.advance(by: 1)
        _ = try a.site.append(nickname: "alice", [Change(entity: entity, key: key, op: .put, body: body)])
    }

    @Test func aFileEntryThatCameAfterALookIsFoundMissing() throws {
        let (a, _) = try siteWithOneStoredFile(); defer { a.remove() }
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).isEmpty)
        let absent = String(repeating: "ab", count: 32)
        try put(a, entity: "profile", key: "main", body: #"{"name":"Alice"}"#)
        try put(a, entity: "file", key: "other", body: try WireJSON.encodeCanonical(FileReference(hex: absent, size: 3, name: nil)))
        try put(a, entity: "profile", key: "main", body: #"{"name":"Alice B."}"#)
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).map(\.hex) == [absent])
    }

    @Test func otherEntriesLeaveTheLastLookStandingUntilTheRescanTime() throws {
        let (a, hex) = try siteWithOneStoredFile(); defer { a.remove() }
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).isEmpty)
        // The blob goes from disk by hand; only changes that are not files come.
        try FileManager.default.removeItem(atPath: a.site.blobs.path(hex))
        try put(a, entity: "profile", key: "main", body: #"{"name":"Alice"}"#)
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).isEmpty)
        #expect(try a.site.missingBlobs(nickname: "alice").map(\.hex) == [hex], "a full look reads every file row")
        a.clock.advance(by: Site.blobRescanMilliseconds)
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).map(\.hex) == [hex])
    }

    @Test func aLookThatFoundABlobMissingIsNotRemembered() throws {
        let (a, hex) = try siteWithOneStoredFile(); defer { a.remove() }
        try FileManager.default.removeItem(atPath: a.site.blobs.path(hex))
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).map(\.hex) == [hex])
        #expect(try a.site.missingBlobs(nickname: "alice", dueOnly: true).map(\.hex) == [hex])
    }
}
