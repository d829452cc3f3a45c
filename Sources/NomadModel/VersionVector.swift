import Foundation
import NomadCrypto

/// For each origin, the highest `seq` applied with no gap before it. Two clones with equal
/// vectors hold exactly the same entries.
public struct VersionVector: Sendable, Equatable, Codable {
    public private(set) var seqs: [OriginID: UInt64]

    /// The largest seq anywhere (SQLite stores seqs as signed 64-bit integers).
    public static let maxSeq = UInt64(Int64.max)
    /// The most origins a vector from the wire may name.
    public static let maxOrigins = 10_000

    public init(_ seqs: [OriginID: UInt64] = [:]) { self.seqs = seqs }

    /// Reads a vector as nomadsync writes it (`{"origin":seq,…}`, no whitespace) without the JSON
    /// decoder, which cost more than the query on every read of a peer's report; any other text
    /// goes through the decoder, so what is accepted and refused is always the decoder's.
    public static func decode(_ text: String, what: String) throws -> VersionVector {
        if let compact = compact(text) { return compact }
        return try WireJSON.decode(VersionVector.self, from: Data(text.utf8), what: what)
    }

    /// The vector of `text` in the exact compact form, or nil for anything else (even valid JSON).
    static func compact(_ text: String) -> VersionVector? {
        var text = text
        return text.withUTF8 { bytes -> VersionVector? in
            let quote = UInt8(ascii: "\""), zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[bytes.count - 1] == UInt8(ascii: "}") else { return nil }
            var seqs: [OriginID: UInt64] = [:]
            guard bytes.count > 2 else { return VersionVector(seqs) }
            var index = 1
            while true {
                guard index < bytes.count, bytes[index] == quote else { return nil }
                var end = index + 1
                while end < bytes.count, Base64URL.isAlphabet(bytes[end]) { end += 1 }
                guard end + 1 < bytes.count, bytes[end] == quote, bytes[end + 1] == UInt8(ascii: ":"),
                      let origin = try? OriginID(validating: String(decoding: bytes[(index + 1)..<end], as: UTF8.self)) else { return nil }
                var cursor = end + 2
                let start = cursor
                var seq: UInt64 = 0
                while cursor < bytes.count, bytes[cursor] >= zero, bytes[cursor] <= nine {
                    let (times, overflow) = seq.multipliedReportingOverflow(by: 10)
                    guard !overflow, times <= maxSeq - UInt64(bytes[cursor] - zero) else { return nil }
                    seq = times + UInt64(bytes[cursor] - zero)
                    cursor += 1
                }
                guard cursor > start, bytes[start] != zero || cursor - start == 1, cursor < bytes.count,
                      seqs.updateValue(seq, forKey: origin) == nil, seqs.count <= maxOrigins else { return nil }
                if bytes[cursor] == UInt8(ascii: ",") {
                    index = cursor + 1
                } else {
                    return cursor == bytes.count - 1 ? VersionVector(seqs) : nil
                }
            }
        }
    }

    /// Entries this vector holds beyond `other`, summed without overflow (saturates).
    public func entriesAhead(of other: VersionVector) -> UInt64 {
        var total: UInt64 = 0
        for (origin, seq) in seqs where seq > other[origin] { total = total.addingSaturating(seq - other[origin]) }
        return total
    }

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
        guard raw.count <= Self.maxOrigins else {
            throw ModelError.tooLarge("a version vector names \(raw.count) origins; the limit is \(Self.maxOrigins)")
        }
        for (k, v) in raw {
            guard v <= Self.maxSeq else { throw ModelError.invalidField("vector.\(k.prefix(22))", reason: "seq \(v) is out of range (at most 2^63-1)") }
            seqs[try OriginID(validating: k)] = v
        }
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

extension UInt64 {
    /// `self + other`, or `UInt64.max` when the sum would overflow.
    public func addingSaturating(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
