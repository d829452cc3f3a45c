import NomadCrypto
import NomadModel
import NomadStore

/// The exclusive lock a running node holds on its data directory (`DATA/serve.lock`).
public typealias DataDirectoryLock = NomadStore.DataDirectoryLock

extension Site {
    /// Opens the site stored in a data directory (SQLite in WAL mode, secrets sealed under the
    /// host key). With `create`, a missing directory and host key are made.
    ///
    /// ```swift
    /// let site = try Site.open(directory: "/var/lib/nomadsync")
    /// ```
    public static func open(directory: String, hostKeyPath: String? = nil, create: Bool = false,
                            clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom()) throws -> Site {
        Site(store: try Store.open(directory: directory, hostKeyPath: hostKeyPath, create: create, random: random),
             clock: clock, random: random)
    }

    /// A site over a fresh in-memory store with the same migrations (the simulator's sites).
    package static func inMemory(clock: any WallClock, random: any RandomSource) throws -> Site {
        Site(store: try Store.inMemory(random: random), clock: clock, random: random)
    }

    /// The same store reopened, as after a crash: only committed transactions survive.
    package func reopened() -> Site { Site(store: store, clock: clock, random: random, limits: limits) }

    /// A copy of the whole store as it is now (a backup), to restore from later.
    package func snapshot() throws -> Site { Site(store: try store.snapshot(), clock: clock, random: random, limits: limits) }

    /// Entries held until a missing seq of their origin arrives.
    package func heldEntries(nickname: String) throws -> [ChangeEntry] {
        let channel = try record(nickname: nickname)
        return try store.read { try $0.pendingEntries(channel: channel.rowID) }
    }

    /// Whether an entry id was voided by its writer (docs/PROTOCOL.md §3.2).
    package func isVoided(nickname: String, entryID: String) throws -> Bool {
        let channel = try record(nickname: nickname)
        return try store.read { try $0.isVoided(channel: channel.rowID, entryID: entryID) }
    }

    /// Everything an inbound packet can change for a channel (log, state, writer, alarm, peer
    /// reports and backoff, remembered tokens), read in one transaction: a refused packet must
    /// leave it as it was.
    package func fingerprint(nickname: String) throws -> [String] {
        try store.read { tx in
            guard let channel = try tx.channel(nickname: nickname) else { throw EngineError.channelNotFound(nickname) }
            func text(_ vector: VersionVector?) -> String {
                (vector?.seqs ?? [:]).map { "\($0.key.text):\($0.value)" }.sorted().joined(separator: ",")
            }
            var lines = [Hex.encode(channel.digest), channel.writer.text, channel.diverged ?? "", text(try tx.vector(channel: channel.rowID)),
                         "\(try tx.entryCount(channel: channel.rowID)) \(try tx.pendingCount(channel: channel.rowID)) \(try tx.tokenCount())"]
            lines += try tx.peers(channel: channel.rowID).map { peer in
                [peer.siteID.text, "\(peer.offline)", "\(peer.attempts)", "\(peer.nextAttempt)", "\(peer.lastHeard ?? 0)",
                 "\(peer.lastDelivered ?? 0)", peer.lastError ?? "", text(peer.vector), peer.digest ?? ""].joined(separator: " ")
            }
            return lines
        }
    }

    /// The channel hosted here under `portableID`, if any.
    public func channel(portableID: PortableID) throws -> HostedChannel? {
        try store.read { try $0.channel(portableID: portableID) }.map(HostedChannel.init)
    }
}
