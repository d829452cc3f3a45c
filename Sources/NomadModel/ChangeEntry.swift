import Foundation
import NomadCrypto

/// What a change does to its document.
public enum ChangeOp: String, Sendable, Codable, CaseIterable {
    /// Replaces the document with `body`.
    case put
    /// Removes the document. A delete is a tombstone: it is kept and wins like any other entry.
    case delete
}

/// A change not yet written to the log: what the paired server or the CLI asks for.
public struct Change: Sendable, Equatable, Codable {
    public var entity: String
    public var key: String
    public var op: ChangeOp
    /// Exact JSON text for `put`; empty for `delete`.
    public var body: String

    public init(entity: String, key: String, op: ChangeOp, body: String) {
        self.entity = entity
        self.key = key
        self.op = op
        self.body = body
    }

    enum CodingKeys: String, CodingKey { case entity, key, op, body }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entity = try c.decode(String.self, forKey: .entity)
        key = try c.decode(String.self, forKey: .key)
        op = try c.decode(ChangeOp.self, forKey: .op)
        body = try c.decodeIfPresent(String.self, forKey: .body) ?? ""
    }

    /// Checks names, sizes and that a `put` body is JSON, before anything is written.
    public func validate(limits: WireLimits = .standard) throws {
        try EntityName.validate(entity)
        try ChangeEntry.validateKey(key)
        try ChangeEntry.validateBody(body, op: op, limits: limits)
    }
}

/// A batch of changes as the admin API takes it: `{"changes":[…]}` or a bare array.
public enum ChangeBatch {
    private struct Wrapped: Decodable { var changes: [Change] }

    /// Decodes and validates every change; a bad one names its index. An empty batch is refused.
    public static func parse(_ data: Data, limits: WireLimits = .standard) throws -> [Change] {
        guard data.count <= limits.maxBodyBytes else {
            throw ModelError.tooLarge("the batch is \(data.count) bytes, the limit is \(limits.maxBodyBytes)")
        }
        let bare = data.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[")
        let changes = bare
            ? try WireJSON.decode([Change].self, from: data, what: "changes", maxDepth: limits.maxJSONDepth)
            : try WireJSON.decode(Wrapped.self, from: data, what: "changes", maxDepth: limits.maxJSONDepth).changes
        guard !changes.isEmpty else { throw ModelError.invalidField("changes", reason: "the batch has no changes") }
        guard changes.count <= limits.maxEntriesPerPacket else {
            throw ModelError.tooLarge("\(changes.count) changes in one batch; the limit is \(limits.maxEntriesPerPacket)")
        }
        for (index, change) in changes.enumerated() {
            do { try change.validate(limits: limits) } catch let error as ModelError {
                throw ModelError.invalidField("changes[\(index)]", reason: error.description)
            }
        }
        return changes
    }
}

/// One change of one document of a channel, as held in the log and sent on the wire:
///
/// ```json
/// {"id":"…","origin":"…","seq":42,"hlc":"0193a1b2c3d40003","entity":"item",
///  "key":"https://a.example/item/9f2c","op":"put","body":"{\"content\":\"hi\"}"}
/// ```
///
/// `id` is BLAKE2b-256 over `ChangeEntry.idInput` — every other field, length-prefixed — so a
/// receiver recomputes it and refuses an entry whose content was changed.
public struct ChangeEntry: Sendable, Equatable, Hashable, Codable {
    public let id: String
    public let origin: OriginID
    public let seq: UInt64
    public let hlc: HybridTimestamp
    public let entity: String
    public let key: String
    public let op: ChangeOp
    /// The document as exact JSON text. Never re-serialised, so the id stays byte-exact.
    public let body: String

    /// Builds an entry and computes its id.
    public init(origin: OriginID, seq: UInt64, hlc: HybridTimestamp, entity: String, key: String,
                op: ChangeOp, body: String) {
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.entity = entity
        self.key = key
        self.op = op
        self.body = body
        id = Self.computeID(origin: origin, seq: seq, hlc: hlc, entity: entity, key: key, op: op, body: body)
    }

    /// Rebuilds an entry with a given id (from the wire or the store) without checking it;
    /// call `validate()` before trusting it.
    public init(id: String, origin: OriginID, seq: UInt64, hlc: HybridTimestamp, entity: String,
                key: String, op: ChangeOp, body: String) {
        self.id = id
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.entity = entity
        self.key = key
        self.op = op
        self.body = body
    }

    /// The domain tag that starts every id input, so an entry id can never collide with
    /// another hash nomadsync makes.
    public static let idDomain = "nomadsync/entry/1"

    /// The bytes hashed for `id`: each text field as u32 big-endian length ‖ UTF-8 bytes,
    /// `seq` and `hlc` as u64 big-endian, in the order domain, origin, seq, hlc, entity, key, op, body.
    public static func idInput(origin: OriginID, seq: UInt64, hlc: HybridTimestamp, entity: String,
                               key: String, op: ChangeOp, body: String) -> [UInt8] {
        var out = BinaryWriter(capacity: 6 * 4 + 2 * 8 + idDomain.utf8.count + origin.text.utf8.count + entity.utf8.count
                                   + key.utf8.count + op.rawValue.utf8.count + body.utf8.count)
        out.text(idDomain)
        out.text(origin.text)
        out.u64(seq)
        out.u64(hlc.rawValue)
        out.text(entity)
        out.text(key)
        out.text(op.rawValue)
        out.text(body)
        return out.bytes
    }

    public static func computeID(origin: OriginID, seq: UInt64, hlc: HybridTimestamp, entity: String,
                                 key: String, op: ChangeOp, body: String) -> String {
        // An id is public (the hash of public content): the table coder, not the constant-time one.
        Base64URL.encodePublic(Blake2b.hash256(idInput(origin: origin, seq: seq, hlc: hlc, entity: entity,
                                                        key: key, op: op, body: body)))
    }

    /// The id this entry's content hashes to.
    public var expectedID: String {
        Self.computeID(origin: origin, seq: seq, hlc: hlc, entity: entity, key: key, op: op, body: body)
    }

    /// Checks every field and that `id` matches the content.
    public func validate(limits: WireLimits = .standard) throws {
        guard seq >= 1, seq <= VersionVector.maxSeq else { throw ModelError.invalidField("seq", reason: "must be from 1 to 2^63-1") }
        guard hlc.milliseconds > 0 else { throw ModelError.invalidField("hlc", reason: "must not be zero") }
        try EntityName.validate(entity)
        try Self.validateKey(key)
        try Self.validateBody(body, op: op, limits: limits)
        guard Self.isWellFormedID(id) else {
            throw ModelError.invalidField("id", reason: "must be exactly 43 base64url characters (32 bytes)")
        }
        let expected = expectedID
        // Compared as bytes: Swift's `==` on String treats canonically equivalent text as equal
        // (U+212A KELVIN SIGN == "K"), but every store and every clone compares bytes.
        guard Self.sameBytes(id, expected) else { throw ModelError.entryIDMismatch(id: id, expected: expected) }
    }

    /// Whether `id` has the exact form of an entry id: 43 ASCII base64url characters.
    public static func isWellFormedID(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { $0.count == 43 && $0.allSatisfy(Base64URL.isAlphabet) }
    }

    /// Whether two strings are the same bytes (not merely canonically equivalent).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    static func validateKey(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 2048 else {
            throw ModelError.invalidField("key", reason: "must be 1 to 2048 bytes")
        }
        guard !key.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw ModelError.invalidField("key", reason: "must not contain control characters")
        }
    }

    static func validateBody(_ body: String, op: ChangeOp, limits: WireLimits) throws {
        switch op {
        case .delete:
            guard body.isEmpty else { throw ModelError.invalidField("body", reason: "a delete carries an empty body") }
        case .put:
            guard body.utf8.count <= limits.maxEntryBodyBytes else {
                throw ModelError.tooLarge("entry body is \(body.utf8.count) bytes, the limit is \(limits.maxEntryBodyBytes)")
            }
            try JSONText.validate(body, what: "body", maxDepth: limits.maxJSONDepth)
        }
    }

    enum CodingKeys: String, CodingKey { case id, origin, seq, hlc, entity, key, op, body }
}

/// The size limits of the wire (DESIGN §4), configurable per site.
public struct WireLimits: Sendable, Equatable {
    public var maxBodyBytes: Int
    public var maxEntriesPerPacket: Int
    public var maxEntryBodyBytes: Int
    public var maxJSONDepth: Int

    public static let standard = WireLimits(maxBodyBytes: 8 << 20, maxEntriesPerPacket: 1000,
                                            maxEntryBodyBytes: 1 << 20, maxJSONDepth: 64)

    public init(maxBodyBytes: Int, maxEntriesPerPacket: Int, maxEntryBodyBytes: Int, maxJSONDepth: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxEntriesPerPacket = maxEntriesPerPacket
        self.maxEntryBodyBytes = maxEntryBodyBytes
        self.maxJSONDepth = maxJSONDepth
    }
}

/// Names of document kinds: the ones nomadsync knows, and `x-…` for a paired server's own.
public enum EntityName {
    public static let known: Set<String> = [
        "profile", "config", "connection", "item", "file", "event", "location", "key", "link", "inbound", "purge",
    ]

    public static func validate(_ name: String) throws {
        if known.contains(name) { return }
        let extra = name.utf8
        if name.hasPrefix("x-"), extra.count > 2, extra.count <= 64,
           extra.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95 }) {
            return
        }
        throw ModelError.invalidField("entity", reason: "'\(name.prefix(64))' is not a known kind; a server's own kinds start with x- (lowercase letters, digits, - and _)")
    }
}

/// Writes the length-prefixed binary encodings that ids and digests are computed over.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A writer with room for `capacity` bytes, so writing them allocates once.
    public init(capacity: Int) { bytes.reserveCapacity(capacity) }

    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    public mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    public mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Like `data`, straight from the string's UTF-8 (no copy in between).
    public mutating func text(_ s: String) {
        u32(UInt32(clamping: s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A u32 big-endian length, then the bytes. Every input here is bounded far below 4 GiB.
    public mutating func data(_ d: [UInt8]) {
        u32(UInt32(clamping: d.count))
        bytes += d
    }
}
