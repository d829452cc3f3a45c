/// A hybrid logical clock reading: 48 bits of Unix milliseconds and a 16-bit counter, written
/// as 16 lowercase hex digits so that text order is time order.
public struct HybridTimestamp: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(milliseconds: UInt64, counter: UInt16) {
        rawValue = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(counter)
    }

    /// Parses exactly 16 lowercase hex digits.
    public init(text: String) throws {
        let utf8 = Array(text.utf8)
        guard utf8.count == 16, utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let value = UInt64(text, radix: 16) else {
            throw ModelError.invalidField("hlc", reason: "must be 16 lowercase hex digits")
        }
        rawValue = value
    }

    public var milliseconds: UInt64 { rawValue >> 16 }
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public var text: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public var description: String { text }
    public static func < (a: HybridTimestamp, b: HybridTimestamp) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(text: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// The clock's rules, as pure functions of its last reading and the wall time passed in.
/// It never goes backwards: a local event is later than every reading seen so far, sent or
/// received, even if the wall clock steps back.
///
/// ```swift
/// var clock = HybridClock(last: stored)
/// let stamp = clock.tick(wallMilliseconds: now)      // for a local change
/// clock.observe(received)                            // for every applied remote entry
/// ```
public struct HybridClock: Sendable, Equatable {
    public private(set) var last: HybridTimestamp

    public init(last: HybridTimestamp = HybridTimestamp(rawValue: 0)) { self.last = last }

    /// The reading for a new local event.
    public mutating func tick(wallMilliseconds: UInt64) -> HybridTimestamp {
        let wall = HybridTimestamp(milliseconds: wallMilliseconds, counter: 0)
        if wall > last {
            last = wall
        } else if last.counter == UInt16.max {
            last = HybridTimestamp(milliseconds: last.milliseconds + 1, counter: 0)
        } else {
            last = HybridTimestamp(rawValue: last.rawValue + 1)
        }
        return last
    }

    /// Moves the clock past a reading received from another clone.
    public mutating func observe(_ remote: HybridTimestamp) {
        if remote > last { last = remote }
    }
}
