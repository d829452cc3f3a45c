import Foundation

/// Where the engine reads the time. Production passes `SystemClock`; tests and the simulator pass
/// a clock they move by hand.
public protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMilliseconds() -> UInt64
}

extension WallClock {
    /// ISO 8601 text of the current time (UTC, milliseconds), for `created_at` and report dates.
    public func nowText() -> String {
        let date = Date(timeIntervalSince1970: Double(nowMilliseconds()) / 1000)
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// The machine's clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
}

/// A clock that only moves when told: for tests and simulation.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: UInt64

    public init(milliseconds: UInt64) { now = milliseconds }

    public func nowMilliseconds() -> UInt64 { lock.withLock { now } }

    public func advance(by milliseconds: UInt64) { lock.withLock { now += milliseconds } }

    public func set(_ milliseconds: UInt64) { lock.withLock { now = milliseconds } }
}
