import CWriteback
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the write-ahead log beside the writer instead of inside its commits.
///
/// SQLite's automatic checkpoint runs in the commit that takes the log past 1,000 pages: that
/// commit copies the log into the database and waits for two `fdatasync`s, 4–10 ms on a
/// common disk, once every hundred or so small transactions. Every such commit is a packet
/// answered late or a change sent late — the slowest percent of propagation. Here the commit
/// only notes the log's length (SQLite's WAL hook) and, past `pages`, hands the checkpoint to a
/// queue of its own with a connection of its own: a passive checkpoint, which never blocks the
/// writer or the readers. If the log still reaches `inlinePages` (the writer never paused long
/// enough), the committing connection checkpoints itself, as SQLite would — after waiting for a
/// background checkpoint still running — so the log stays bounded; the frames copied in the
/// background are not copied again.
///
/// Every `writebackPages` pages it also starts the log's write-back to disk, without waiting
/// for it: a checkpoint syncs the log first, and an `fdatasync` that had megabytes to write
/// (15–20 ms on the disk measured) held the file system's journal so long that the writer's
/// next append to the log waited for it too (a 24-byte `pwrite` of 8 ms). Written back as it
/// grows, the log's sync at the checkpoint takes about a millisecond.
///
/// Durability is unchanged: with `synchronous=NORMAL` a commit in WAL mode was never synced
/// by itself; the log is synced before each checkpoint in either place. Starting write-back
/// early only moves when the bytes reach the disk, not what is promised about them.
final class WALCheckpointer: Sendable {
    /// Pages in the log that start a background checkpoint (SQLite's automatic default).
    static let pages: Int32 = 1_000
    /// Pages in the log past which the committing connection checkpoints itself: a background
    /// checkpoint that runs while the writer keeps committing cannot copy the frames written
    /// meanwhile, so under a steady stream of writes (a catch-up, `log apply`) the log would
    /// never start over.
    static let inlinePages: Int32 = 4_000
    /// Pages appended to the log between two starts of its write-back (1 MiB of 4 KiB pages).
    static let writebackPages: Int32 = 256

    private let path: String
    private let queue = DispatchQueue(label: "nomadsync-checkpoint")
    /// A checkpoint is queued or running; another commit past `pages` need not queue one.
    private let pending = Atomic<Bool>(false)
    /// The log's length when the last background checkpoint was queued (only the writer's
    /// commits touch it).
    private let queuedAt = Atomic<Int32>(0)
    /// The checkpoint's own connection, opened on first use on `queue`; the inline checkpoint
    /// takes the lock to wait for one running.
    private let connection = Mutex<DatabaseQueue?>(nil)
    /// Checkpoints run on `queue` so far (tests read it).
    let backgroundCheckpoints = Atomic<Int>(0)
    /// Starts the log's write-back, one at a time, beside the checkpoints (a write-back is not
    /// queued behind a checkpoint still syncing).
    private let writebackQueue = DispatchQueue(label: "nomadsync-wal-writeback")
    /// A write-back is queued and has not started yet.
    private let writebackPending = Atomic<Bool>(false)
    /// The log's length when the last write-back was queued (only the writer's commits touch it).
    private let writebackQueuedAt = Atomic<Int32>(0)
    /// Write-backs started so far (tests read it).
    let writebacks = Atomic<Int>(0)

    init(path: String) {
        self.path = path
    }

    /// Installs the hook on one of the pool's connections (GRDB's `prepareDatabase`). It
    /// replaces SQLite's automatic checkpoint on that connection.
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        // The pool's configuration, which holds this object, lives as long as its connections.
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, name, pages in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(pages: pages, db: connection, name: name)
            return SQLITE_OK
        }, context)
    }

    /// A transaction committed and the log holds `pages` pages.
    private func committed(pages: Int32, db: OpaquePointer?, name: UnsafePointer<CChar>?) {
        startWritebackIfDue(pages: pages)
        if pages >= Self.inlinePages {
            // The background checkpoint is not keeping up: do what SQLite's own would. If one is
            // running, wait for it (it holds `connection`): meanwhile SQLite's checkpoint lock is
            // taken, a checkpoint here would return SQLITE_BUSY at once, and the writer would go on
            // growing the log for as long as the background one takes.
            connection.withLock { _ in
                _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            return
        }
        // Past `pages`, and `pages` more written since the last one was queued (or the log started
        // over): under a steady stream of writes a checkpoint queued after every commit ran back
        // to back, a third of the time, copying the same hot pages again each time.
        let last = queuedAt.load(ordering: .relaxed)
        guard pages >= Self.pages, pages < last || pages - last >= Self.pages,
              !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queuedAt.store(pages, ordering: .relaxed)
        queue.async { [self] in
            pending.store(false, ordering: .releasing)  // a commit from now on may queue the next one
            checkpoint()
        }
    }

    /// Queues a write-back of the log once `writebackPages` pages were appended since the last
    /// one was queued (or the log started over).
    private func startWritebackIfDue(pages: Int32) {
        let last = writebackQueuedAt.load(ordering: .relaxed)
        guard pages < last || pages - last >= Self.writebackPages,
              !writebackPending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writebackQueuedAt.store(pages, ordering: .relaxed)
        writebackQueue.async { [self] in
            writebackPending.store(false, ordering: .releasing)
            startWriteback()
        }
    }

    /// Starts writing the log's dirty pages to disk (`sync_file_range`) and returns at once. The
    /// log is opened each time, so a log SQLite deleted and created again is the one written back.
    /// A failure only means the next checkpoint's sync has more to write.
    private func startWriteback() {
        let descriptor = open(path + "-wal", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        if nomadsync_start_writeback(descriptor) == 0 { writebacks.add(1, ordering: .relaxed) }
    }

    /// One passive checkpoint on the checkpointer's own connection. A failure (the database
    /// busy or gone) is left to the next commit past `pages`, or to the inline checkpoint.
    private func checkpoint() {
        connection.withLock { queue in
            do {
                if queue == nil {
                    var config = Configuration()
                    config.label = "nomadsync-checkpoint"
                    queue = try DatabaseQueue(path: path, configuration: config)
                }
                try queue?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                backgroundCheckpoints.add(1, ordering: .relaxed)
            } catch {
                queue = nil
            }
        }
    }
}
