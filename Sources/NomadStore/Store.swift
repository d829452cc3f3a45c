import CSQLiteOptions
import Foundation
import GRDB
import Synchronization
import NomadCrypto
import NomadModel

/// A site's data directory: the SQLite database (WAL) and the host key that seals every private
/// key stored in it.
///
/// ```swift
/// let store = try Store.open(directory: "./data", random: SystemRandom())
/// let site = try store.read { try $0.site() }
/// ```
public final class Store: Sendable {
    public static let databaseName = "nomadsync.sqlite"
    public static let hostKeyName = "host.key"

    /// The data directory, or `:memory:` for a store that lives in memory only.
    public let directory: String
    /// A `DatabasePool` (WAL) on disk; a `DatabaseQueue` in memory.
    let database: any DatabaseWriter
    /// The key that seals private keys at rest (secretbox).
    let hostKey: SecureBytes

    /// A connection of its own that only asks `PRAGMA data_version` (see `changeMarker`).
    private let watcher = Mutex<DatabaseQueue?>(nil)

    /// Runs the WAL checkpoints of a store on disk (nil in memory).
    let checkpointer: WALCheckpointer?

    /// Signalled after each write transaction of this process commits.
    public let commits = CommitSignal()

    init(directory: String, database: any DatabaseWriter, hostKey: SecureBytes, checkpointer: WALCheckpointer? = nil) {
        self.checkpointer = checkpointer
        self.directory = directory
        self.database = database
        self.hostKey = hostKey
    }

    /// A number that changes whenever anything commits to the database — this process, the
    /// CLI, any connection — read on a connection that never writes (SQLite's `data_version`).
    /// The delivery worker skips a pass when it has not moved and nothing is due. Nil for a
    /// store in memory, which has no other connection to watch it with.
    public func changeMarker() throws -> Int64? {
        guard directory != ":memory:" else { return nil }
        return try watcher.withLock { queue -> Int64? in
            if queue == nil {
                var config = Configuration()
                config.label = "nomadsync-watcher"
                config.busyMode = .timeout(5)
                queue = try DatabaseQueue(path: (directory as NSString).appendingPathComponent(Self.databaseName), configuration: config)
            }
            return try queue?.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") }
        }
    }

    /// A store in memory with the same schema (one migrator) and a random host key: for tests
    /// and the simulator, which drive many sites' engines without file I/O.
    public static func inMemory(random: any RandomSource) throws -> Store {
        do {
            let queue = try DatabaseQueue(configuration: memoryConfiguration)
            try Schema.migrator.migrate(queue)
            return Store(directory: ":memory:", database: queue, hostKey: SecureBytes(random.bytes(SecretBox.keyLength)))
        } catch {
            throw StoreError.database("cannot create an in-memory store: \(error)")
        }
    }

    /// A copy of this store as it is now (with the same host key), in memory: what a backup
    /// holds. Restoring it later is how a simulated site goes back in time.
    public func snapshot() throws -> Store {
        do {
            let copy = try DatabaseQueue(configuration: Self.memoryConfiguration)
            try database.backup(to: copy)
            return Store(directory: ":memory:", database: copy, hostKey: hostKey)
        } catch {
            throw StoreError.database("cannot copy the store: \(error)")
        }
    }

    /// SQLite's process-wide options, set once before the first connection opens: memory
    /// statistics off (counting each of SQLite's allocations takes a mutex that the writer and
    /// every reader share: 4% of a receiving site's CPU in a catch-up). True when they took
    /// effect, false when SQLite was already initialised in this process (by a connection not
    /// opened through `Store`); either way SQLite works the same.
    public static let sqliteOptionsSet: Bool = nomadsync_sqlite_disable_memstatus() == 0

    static var memoryConfiguration: Configuration {
        _ = sqliteOptionsSet
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.label = "nomadsync-memory"
        return config
    }

    /// Opens (and with `create`, makes) the data directory. The host key file is created with
    /// mode 0600 and refused if anyone but its owner can read it. `hostKeyPath` may put the key
    /// outside the data directory (recommended when backups of the data directory leave the host).
    public static func open(directory: String, hostKeyPath: String? = nil, create: Bool = false,
                            random: any RandomSource) throws -> Store {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if !fm.fileExists(atPath: directory, isDirectory: &isDir) {
            guard create else { throw StoreError.notInitialised(directory) }
            do {
                try fm.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError.database("cannot create data directory \(directory): \(error.localizedDescription)")
            }
        } else if !isDir.boolValue {
            throw StoreError.database("\(directory) exists and is not a directory")
        }
        let keyPath = hostKeyPath ?? (directory as NSString).appendingPathComponent(hostKeyName)
        let hostKey = try HostKeyFile.load(path: keyPath, create: create, random: random)
        let dbPath = (directory as NSString).appendingPathComponent(databaseName)
        if !create && !fm.fileExists(atPath: dbPath) { throw StoreError.notInitialised(directory) }
        _ = sqliteOptionsSet
        var config = Configuration()
        config.busyMode = .timeout(15)
        config.foreignKeysEnabled = true
        config.label = "nomadsync"
        // Checkpoints run beside the writer, not inside its commits (WALCheckpointer).
        let checkpointer = WALCheckpointer(path: dbPath)
        config.prepareDatabase { db in checkpointer.install(on: db) }
        do {
            let pool = try DatabasePool(path: dbPath, configuration: config)
            try Schema.migrator.migrate(pool)
            // The database holds every document in clear: owner only, whatever the umask.
            for file in [dbPath, dbPath + "-wal", dbPath + "-shm"] where fm.fileExists(atPath: file) {
                try? fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
            return Store(directory: directory, database: pool, hostKey: hostKey, checkpointer: checkpointer)
        } catch {
            throw StoreError.database("cannot open \(dbPath): \(error)")
        }
    }

    /// Runs `body` in one write transaction: everything it does commits together or not at all.
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        do {
            let (result, quiet) = try database.write { db in
                let tx = StoreTransaction(db: db, hostKey: hostKey)
                return (try body(tx), tx.notes.quiet)
            }
            commits.committed(quiet: quiet)
            return result
        } catch let error as DatabaseError {
            throw StoreError.database(error.description)
        }
    }

    /// A value that changes whenever something a delivery plan depends on may have changed: a
    /// commit of another process (the CLI), read as SQLite's `data_version` on this process's
    /// own writer connection, which moves for every connection's commits but its own; and this
    /// process's commits that did not declare themselves quiet (`StoreTransaction.markQuiet()`).
    /// The delivery worker plans again when it moves.
    public func deliveryMarker() throws -> DeliveryMarker {
        let loud = commits.loudCount
        do {
            let others = try database.writeWithoutTransaction { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
            return DeliveryMarker(othersCommits: others, loudCommits: loud)
        } catch let error as DatabaseError {
            throw StoreError.database(error.description)
        }
    }

    /// Runs `body` on a consistent read snapshot.
    public func read<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        do {
            return try database.read { db in try body(StoreTransaction(db: db, hostKey: hostKey)) }
        } catch let error as DatabaseError {
            throw StoreError.database(error.description)
        }
    }

    /// Seals a secret under the host key, for storage.
    public func sealSecret(_ secret: SecureBytes, random: any RandomSource) throws -> [UInt8] {
        try SecretBox.seal(secret, key: hostKey, random: random)
    }

    /// Opens a secret stored by `sealSecret`.
    public func openSecret(_ sealed: [UInt8], what: String) throws -> SecureBytes {
        do { return try SecretBox.open(sealed, key: hostKey) } catch { throw StoreError.secretUnreadable(what) }
    }
}

/// The host key file: 32 random bytes, owner-only.
enum HostKeyFile {
    static func load(path: String, create: Bool, random: any RandomSource) throws -> SecureBytes {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard create else { throw StoreError.hostKey("\(path) is missing; without it no private key here can be opened") }
            var bytes = random.bytes(SecretBox.keyLength)
            defer { for i in bytes.indices { bytes[i] = 0 } }
            guard fm.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.hostKey("cannot create \(path)")
            }
            return SecureBytes(bytes)
        }
        let attributes = try? fm.attributesOfItem(atPath: path)
        if let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw StoreError.hostKey("\(path) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
        guard var data = fm.contents(atPath: path) else { throw StoreError.hostKey("cannot read \(path)") }
        defer { data.resetBytes(in: 0..<data.count) }
        guard data.count == SecretBox.keyLength else {
            throw StoreError.hostKey("\(path) must hold \(SecretBox.keyLength) bytes, it has \(data.count)")
        }
        return SecureBytes(Array(data))
    }
}

/// See `Store.deliveryMarker()`.
public struct DeliveryMarker: Sendable, Equatable {
    /// SQLite's `data_version` on the writer connection: moves when another connection commits.
    public var othersCommits: Int64
    /// This process's commits that were not quiet.
    public var loudCommits: UInt64
}
