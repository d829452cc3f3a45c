import CSodium
import Synchronization

/// Where randomness comes from. The engine takes one as a parameter and never reads a global
/// source, so a seeded simulator can replay a whole multi-site run byte for byte.
public protocol RandomSource: Sendable {
    /// Returns `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

extension RandomSource {
    /// A random 64-bit number (for jitter and shuffles).
    public func uint64() -> UInt64 {
        bytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// The operating system's CSPRNG via libsodium's `randombytes_buf`. Use this in production.
public struct SystemRandom: RandomSource {
    public init() { Sodium.ensure() }

    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) } }
        return out
    }
}

/// A deterministic stream (libsodium's `randombytes_buf_deterministic`, ChaCha20 keyed by a
/// seed) for tests and simulation: the same seed gives the same bytes on every machine.
///
/// ```swift
/// let random = SeededRandom(seed: 42)
/// let a = random.bytes(16)   // always the same 16 bytes for seed 42
/// ```
public final class SeededRandom: RandomSource {
    private let seed: [UInt8]
    private let counter = Mutex<UInt64>(0)

    public init(seed: UInt64) {
        Sodium.ensure()
        var s = [UInt8](repeating: 0, count: 32)
        for i in 0..<8 { s[i] = UInt8(truncatingIfNeeded: seed >> (8 * UInt64(i))) }
        self.seed = s
    }

    public func bytes(_ count: Int) -> [UInt8] {
        let n = counter.withLock { value -> UInt64 in
            value += 1
            return value
        }
        var block = seed
        for i in 0..<8 { block[24 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        let key = Blake2b.hash256(block)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buf in
            if count > 0 { randombytes_buf_deterministic(buf.baseAddress!, buf.count, key) }
        }
        return out
    }
}
