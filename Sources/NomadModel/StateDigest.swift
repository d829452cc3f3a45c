import NomadCrypto

/// The state digest (DESIGN §3): the sum mod 2^256 of BLAKE2b-256 over
/// `(channel guid, entity, key, winning entry id)` for every state row, tombstones included.
/// The guid, not the portable_id: a rekey changes the id, never the state.
/// Addition commutes, so the digest does not depend on the order entries arrived in, and each
/// change updates it in O(1): subtract the old winner's term, add the new one's.
public struct StateDigest: Sendable, Equatable, CustomStringConvertible {
    /// 32 bytes, big-endian.
    public private(set) var bytes: [UInt8]

    public static let zero = StateDigest(bytes: [UInt8](repeating: 0, count: 32))

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a digest is 32 bytes")
        self.bytes = bytes
    }

    /// The term one state row contributes. Fields are length-prefixed so no two rows collide.
    public static func term(guid: String, entity: String, key: String, entryID: String) -> [UInt8] {
        var w = BinaryWriter()
        w.text(guid)
        w.text(entity)
        w.text(key)
        w.text(entryID)
        return Blake2b.hash256(w.bytes)
    }

    public mutating func add(_ term: [UInt8]) {
        var carry: UInt16 = 0
        for i in stride(from: 31, through: 0, by: -1) {
            let sum = UInt16(bytes[i]) + UInt16(term[i]) + carry
            bytes[i] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
    }

    public mutating func subtract(_ term: [UInt8]) {
        var borrow: Int16 = 0
        for i in stride(from: 31, through: 0, by: -1) {
            var diff = Int16(bytes[i]) - Int16(term[i]) - borrow
            borrow = diff < 0 ? 1 : 0
            if diff < 0 { diff += 256 }
            bytes[i] = UInt8(diff)
        }
    }

    /// 64 lowercase hex digits.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}
