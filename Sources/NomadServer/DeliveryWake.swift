import Synchronization

/// Wakes the delivery worker early: a change appended through the admin API goes out at once
/// instead of at the next poll. Changes written by another process (the CLI) still wait for the
/// poll, which reads the store.
public final class DeliveryWake: Sendable {
    public init() {}

    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
    /// Set by `signal()` (not by a wait that timed out) until `takeRequest()` reads it.
    private let requested = Mutex(false)

    /// Something was written: the worker's next (or current) wait ends now, and its next pass
    /// runs whatever else it would skip.
    public func signal() {
        requested.withLock { $0 = true }
        end()
    }

    /// Ends the worker's current (or next) wait without asking for a pass: something it waits
    /// for inside a pass (the site heartbeats' answers) has come.
    public func nudge() { end() }

    /// Whether `signal()` was called since the last time this was asked.
    public func takeRequest() -> Bool { requested.withLock { r in defer { r = false }; return r } }

    private func end() {
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
            if !Task.isCancelled { self?.end() }
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
