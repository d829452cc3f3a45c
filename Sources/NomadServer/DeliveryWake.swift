import Synchronization

/// Wakes the delivery worker early: a change appended through the admin API goes out at once
/// instead of at the next poll. Changes written by another process (the CLI) still wait for the
/// poll, which reads the store.
public final class DeliveryWake: Sendable {
    public init() {}

    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// Something was written: the worker's next (or current) wait ends now.
    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after `milliseconds`, or as soon as `signal()` is called (at once if it was called
    /// since the last wait).
    public func wait(milliseconds: UInt64) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(Int64(clamping: milliseconds)))
            if !Task.isCancelled { self?.signal() }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.pending {
                    s.pending = false
                    return true
                }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }
}
