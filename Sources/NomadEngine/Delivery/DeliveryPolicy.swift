import NomadCrypto

/// How delivery paces itself: heartbeats, retries, packet and page sizes (DESIGN §5).
public struct DeliveryPolicy: Sendable, Equatable {
    /// A location that got nothing from us for this long gets a heartbeat (an empty sync with
    /// our vector and digest).
    public var heartbeatMilliseconds: UInt64 = 30_000
    public var backoff = Backoff()
    /// Entries per outbound packet and per pulled page.
    public var packetEntries: Int = 500
    /// Entry bytes per outbound packet.
    public var packetBytes: Int = 2 * 1024 * 1024

    public init(heartbeatMilliseconds: UInt64 = 30_000, backoff: Backoff = Backoff(), packetEntries: Int = 500,
                packetBytes: Int = 2 * 1024 * 1024) {
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.backoff = backoff
        self.packetEntries = packetEntries
        self.packetBytes = packetBytes
    }
}

/// Retry delays after failures in a row: exponential with jitter, 1 s … 1 h by default.
public struct Backoff: Sendable, Equatable {
    public var baseMilliseconds: UInt64 = 1_000
    public var capMilliseconds: UInt64 = 3_600_000

    public init(baseMilliseconds: UInt64 = 1_000, capMilliseconds: UInt64 = 3_600_000) {
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
    }

    /// The wait after `attempts` failures in a row: `base·2^(attempts-1)` capped, then a random
    /// point in its upper half, so peers that failed together do not retry together.
    public func delay(afterAttempts attempts: Int, random: any RandomSource) -> UInt64 {
        let shift = UInt64(min(max(attempts - 1, 0), 40))
        let full = min(capMilliseconds, baseMilliseconds << shift)
        let half = full / 2
        return half + (half == 0 ? 0 : random.uint64() % (half + 1))
    }
}

