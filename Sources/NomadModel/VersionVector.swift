/// For each origin, the highest `seq` applied with no gap before it. Two clones with equal
/// vectors hold exactly the same entries.
public struct VersionVector: Sendable, Equatable, Codable {
    public private(set) var seqs: [OriginID: UInt64]

    public init(_ seqs: [OriginID: UInt64] = [:]) { self.seqs = seqs }

    public subscript(origin: OriginID) -> UInt64 {
        get { seqs[origin] ?? 0 }
        set { seqs[origin] = newValue }
    }

    /// Origins for which `other` holds entries this vector lacks, with the range missing.
    public func missing(comparedTo other: VersionVector) -> [MissingRange] {
        other.seqs.compactMap { origin, theirs in
            let ours = self[origin]
            return theirs > ours ? MissingRange(origin: origin, from: ours + 1, through: theirs) : nil
        }.sorted { $0.origin < $1.origin }
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: UInt64].self)
        var seqs: [OriginID: UInt64] = [:]
        for (k, v) in raw { seqs[try OriginID(validating: k)] = v }
        self.seqs = seqs
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: seqs.map { ($0.key.text, $0.value) }))
    }
}

/// A run of entries of one origin that a clone knows exist but does not hold.
public struct MissingRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public let origin: OriginID
    public let from: UInt64
    public let through: UInt64

    public init(origin: OriginID, from: UInt64, through: UInt64) {
        self.origin = origin
        self.from = from
        self.through = through
    }

    public var description: String { "\(origin.text):\(from)-\(through)" }
}
