import Foundation
import NomadCrypto
import NomadModel
import NomadStore
@testable import NomadEngine

/// A site in its own temporary data directory, with a clock and randomness the test controls.
struct TestSite {
    let site: Site
    let directory: String
    let clock: ManualClock

    static let start: UInt64 = 1_763_700_000_000

    init(url: String = "https://a.example", seed: UInt64 = 1, clock: ManualClock = ManualClock(milliseconds: TestSite.start)) throws {
        directory = NSTemporaryDirectory() + "nomadsync-test-\(UUID().uuidString)"
        let random = SeededRandom(seed: seed)
        let store = try Store.open(directory: directory, create: true, random: random)
        site = Site(store: store, clock: clock, random: random)
        self.clock = clock
        try site.initialise(url: url)
    }

    /// Opens a site on an existing data directory (a restored backup), with its own randomness.
    init(restoring directory: String, seed: UInt64, clock: ManualClock) throws {
        self.directory = directory
        let random = SeededRandom(seed: seed)
        site = Site(store: try Store.open(directory: directory, random: random), clock: clock, random: random)
        self.clock = clock
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Copies the data directory as a file backup would: database, WAL and host key.
    func backup() throws -> String {
        let copy = NSTemporaryDirectory() + "nomadsync-backup-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: directory, toPath: copy)
        return copy
    }

    /// This site's own location of `nick`.
    func location(_ nick: String) throws -> Location {
        let me = try site.identity().siteID
        guard let own = try site.liveLocations(of: try site.channel(nickname: nick)).first(where: { $0.siteID == me }) else {
            throw EngineError.channelNotFound(nick)
        }
        return own
    }

    func put(_ nick: String, _ key: String, _ body: String, entity: String = "item") throws -> ChangeEntry {
        clock.advance(by: 1)
        return try site.append(nickname: nick, [Change(entity: entity, key: key, op: .put, body: body)])[0]
    }

    func delete(_ nick: String, _ key: String, entity: String = "item") throws -> ChangeEntry {
        clock.advance(by: 1)
        return try site.append(nickname: nick, [Change(entity: entity, key: key, op: .delete, body: "")])[0]
    }

    func digest(_ nick: String) throws -> String { try site.channelStatus(nickname: nick).digest }

    func stateSnapshot(_ nick: String) throws -> [String] {
        try site.state(nickname: nick, includeDeleted: true).map { "\($0.entity)|\($0.key)|\($0.op.rawValue)|\($0.body)|\($0.entryID)" }
    }

    /// The digest computed from scratch over the state rows, to check the O(1) updates.
    func recomputedDigest(_ nick: String) throws -> String {
        let channel = try site.channel(nickname: nick)
        var digest = StateDigest.zero
        for row in try site.state(nickname: nick, includeDeleted: true) {
            digest.add(StateDigest.term(guid: channel.guid, entity: row.entity, key: row.key, entryID: row.entryID))
        }
        return digest.hex
    }

    static let passphrase = SecureBytes(Array("test passphrase".utf8))

    /// Site a (https://a.example) with channel "alice", cloned to site b (https://b.example).
    static func clonedPair() throws -> (TestSite, TestSite) {
        let a = try TestSite(seed: 1)
        let b = try TestSite(url: "https://b.example", seed: 2)
        _ = try a.site.createChannel(nickname: "alice")
        try a.clone("alice", to: b)
        return (a, b)
    }

    /// Makes `other` a clone of `nick` through an export file.
    func clone(_ nick: String, to other: TestSite) throws {
        let file = try site.exportChannel(nickname: nick, passphrase: Self.passphrase, strength: .interactive)
        _ = try other.site.importChannel(file, passphrase: Self.passphrase)
    }
}
