import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a data directory (`DATA/serve.lock`, `flock`), held by a running node for
/// its whole life: a second `nomadsync serve` on the same directory exits with a clear message
/// instead of delivering the same outbox twice. The kernel drops the lock when the process dies,
/// so a node killed with SIGKILL leaves nothing to clean up.
public final class DataDirectoryLock: Sendable {
    public static let fileName = "serve.lock"
    private let descriptor: Int32

    /// Takes the lock or throws `StoreError.locked`.
    public init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.database("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw StoreError.locked(directory)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
