import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wakes when another process writes one of the watched SQLite write-ahead logs (Linux
/// inotify), so the propagation bench learns of a commit on B or C within microseconds
/// instead of polling their databases every fraction of a millisecond — polling that costs a
/// third of a core beside the nodes it times, on a two-core machine, and adds its own delay.
/// Where inotify is missing, `init` fails and the bench polls.
final class WALWatch {
    private let descriptor: Int32

    /// Watches `paths` (the `-wal` files) for writes; nil if inotify cannot.
    init?(paths: [String]) {
        #if os(Linux)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        guard fd < FD_SETSIZE else {  // select(2) cannot wait on it: poll instead
            close(fd)
            return nil
        }
        for path in paths where inotify_add_watch(fd, path, UInt32(IN_MODIFY)) < 0 {
            close(fd)
            return nil
        }
        descriptor = fd
        #else
        return nil
        #endif
    }

    deinit { close(descriptor) }

    /// Waits up to `microseconds` for a write to any watched log, then reads every pending
    /// event. Returns whether one came.
    func wait(microseconds: Int) -> Bool {
        #if os(Linux)
        // select(2): poll(2) counts whole milliseconds, and ppoll is not in Glibc's module.
        var readable = fd_set()
        withUnsafeMutableBytes(of: &readable) { raw in
            let words = raw.bindMemory(to: Int.self)
            words[Int(descriptor) / Int.bitWidth] |= 1 << (Int(descriptor) % Int.bitWidth)
        }
        var timeout = timeval(tv_sec: microseconds / 1_000_000, tv_usec: microseconds % 1_000_000)
        guard select(descriptor + 1, &readable, nil, nil, &timeout) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        return true
        #else
        return false
        #endif
    }
}
