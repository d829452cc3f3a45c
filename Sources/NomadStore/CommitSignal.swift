import Synchronization

/// Tells code waiting in this process that a write transaction of the store has committed, so a
/// long-poll (the changes feed a paired server follows) answers at once instead of at its next
/// look at the database.
///
/// Only this process's commits are signalled: a waiter still looks again after its timeout, for
/// what another process (the CLI) wrote.
///
/// ```swift
/// let seen = store.commits.count
/// if nothingNew() { await store.commits.wait(after: seen, milliseconds: 100) }
/// ```
public final class CommitSignal: Sendable {
    private struct State {
        var count: UInt64 = 0
        var loud: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits whose time ran out before they were registered.
        var expired: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// How many write transactions of this process have committed so far.
    public var count: UInt64 { state.withLock { $0.count } }

    /// How many of them changed something the delivery planner reads: every one, except those
    /// that called `StoreTransaction.markQuiet()`.
    public var loudCount: UInt64 { state.withLock { $0.loud } }

    /// A write transaction committed: every current wait ends.
    func committed(quiet: Bool = false) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.count &+= 1
            if !quiet { s.loud &+= 1 }
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `count` has moved past `seen` (at once if it already has), or after
    /// `milliseconds`, whichever comes first.
    public func wait(after seen: UInt64, milliseconds: Int) async {
        let id = state.withLock { s -> Int in
            s.nextID &+= 1
            return s.nextID
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(milliseconds))
            if !Task.isCancelled { self?.expire(id) }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.count != seen || s.expired.remove(id) != nil { return true }
                s.waiters[id] = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
        await timer.value
        state.withLock { _ = $0.expired.remove(id) }
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiters.removeValue(forKey: id) else {
                s.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume()
    }
}
