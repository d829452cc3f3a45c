import Foundation

/// Reads the JSON of the hot wire types — a `ChangeEntry`, a `SyncData`, a `SyncPage` — in exactly the form
/// `WireJSONWriter` writes (keys sorted, no whitespace, only the escapes it makes), without
/// Foundation's decoder: decoding a sync packet's entries was 15% of a receiving site's CPU
/// during a catch-up.
///
/// It is a fast path, never a second opinion: for any input not in that exact form, even valid
/// JSON (another key order, whitespace, `\/`, a `\u` escape other than a control character),
/// it returns nil, and the caller decodes with `WireJSON.decode`. So what is accepted and what is
/// refused, and how the error reads, stay the decoder's. Tests check that both give the same
/// value wherever the fast path gives one.
///
/// ```swift
/// let data = try SyncData.decodeWire(plain, what: "sync data", maxDepth: 64)
/// ```
struct WireJSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { index == bytes.count }

    /// Consumes `literal` if the input continues with it.
    mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            for offset in 0..<count where bytes[index + offset] != expected[offset] { return false }
            return true
        }
        if matches { index += count }
        return matches
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string with only the escapes `WireJSONWriter` makes (`\"` `\\` `\b` `\f` `\n` `\r` `\t`
    /// and `\u00xx` below 0x20) and valid UTF-8; nil for anything else.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        // Most strings have no escape: take their bytes as they are (found a word at a time).
        index = JSONStringScan.nextSpecial(in: bytes, from: index)
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            let text = Self.text(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            index += 1
            return text
        }
        guard bytes[index] == UInt8(ascii: "\\") else { return nil }  // a control character
        // With escapes (an entry's body is JSON inside JSON: every quote of it is escaped), the
        // runs between them are copied whole rather than byte by byte.
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(2 * (index - start) + 32)
        var run = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                index += 1
                return unescaped.withUnsafeBufferPointer { Self.text($0) }
            }
            guard byte == UInt8(ascii: "\\") else { return nil }  // a control character
            unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
            index += 1
            guard index < bytes.count else { return nil }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): unescaped.append(escape)
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "u"):
                guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "0"),
                      let high = Self.hexValue(bytes[index + 2]), high <= 1, let low = Self.hexValue(bytes[index + 3]) else { return nil }
                unescaped.append(high << 4 | low)
                index += 4
            default:
                return nil
            }
            run = index
            index = JSONStringScan.nextSpecial(in: bytes, from: index)
        }
        return nil
    }

    /// The string of `utf8`, or nil when it is not valid UTF-8. `String(validating:)` goes
    /// through generic code that looks up type metadata on every call (46–70 ns for 10–190
    /// bytes here, -O); it is taken only for text with bytes from 0x80 up. ASCII, checked a
    /// word at a time, is always valid and decodes as it is (10–41 ns).
    static func text(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        JSONStringScan.isASCII(utf8) ? String(decoding: utf8, as: UTF8.self) : String(validating: utf8, as: UTF8.self)
    }

    /// An unsigned decimal integer without leading zeros that fits in 64 bits; nil otherwise.
    mutating func number() -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
            index += 1
        }
        guard index > start, bytes[start] != UInt8(ascii: "0") || index - start == 1 else { return nil }
        // A fraction or an exponent is not this form.
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            return nil
        }
        return value
    }

    /// `{"body":…,"entity":…,"hlc":…,"id":…,"key":…,"op":…,"origin":…,"seq":…}`, each field
    /// read as the decoder would (identifiers validated the same way); nil for anything else.
    mutating func entry() -> ChangeEntry? {
        guard take(#"{"body":"#), let body = string(), take(#","entity":"#), let entity = string(),
              take(#","hlc":"#), let hlcText = string(), let hlc = try? HybridTimestamp(text: hlcText),
              take(#","id":"#), let id = string(), take(#","key":"#), let key = string(),
              take(#","op":"#), let opText = string(), let op = ChangeOp(rawValue: opText),
              take(#","origin":"#), let originText = string(), let origin = try? OriginID(validating: originText),
              take(#","seq":"#), let seq = number(), take(UInt8(ascii: "}")) else { return nil }
        return ChangeEntry(id: id, origin: origin, seq: seq, hlc: hlc, entity: entity, key: key, op: op, body: body)
    }

    /// `[entry,…]`; nil for anything else.
    mutating func entries() -> [ChangeEntry]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var entries: [ChangeEntry] = []
        if take(UInt8(ascii: "]")) { return entries }
        repeat {
            guard let entry = entry() else { return nil }
            entries.append(entry)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? entries : nil
    }

    /// A version vector in the compact form (`VersionVector.compact`): an object of origins and
    /// numbers, so it ends at the first `}`.
    mutating func vector() -> VersionVector? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "}") { index += 1 }
        guard index < bytes.count else { return nil }
        index += 1
        return VersionVector.compact(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// The fields a sync packet and a pull page share, in order (`SyncData.writeBatch`):
    /// `"channel":…,"digest":…,"entries":[…],"from":…` and `,"keys":[…]` when present.
    mutating func batch() -> (channel: PortableID, digest: String, entries: [ChangeEntry], from: SiteID, keys: [ChangeEntry]?)? {
        guard take(#""channel":"#), let channelText = string(), let channel = try? PortableID(validating: channelText),
              take(#","digest":"#), let digest = string(),
              take(#","entries":"#), let batch = entries(),
              take(#","from":"#), let fromText = string(), let from = try? SiteID(validating: fromText) else { return nil }
        guard take(#","keys":"#) else { return (channel, digest, batch, from, nil) }
        guard let keys = entries() else { return nil }
        return (channel, digest, batch, from, keys)
    }

    /// `{"alg":…,"data":…,"encrypted":…,"iv":…,"key":…}`; nil for anything else.
    mutating func sealedPayload() -> SealedPayload? {
        guard take(#"{"alg":"#), let alg = string(), take(#","data":"#), let data = string() else { return nil }
        let encrypted: Bool
        if take(#","encrypted":true"#) { encrypted = true } else if take(#","encrypted":false"#) { encrypted = false } else { return nil }
        guard take(#","iv":"#), let iv = string(), take(#","key":"#), let key = string(), take(UInt8(ascii: "}")) else { return nil }
        return SealedPayload(encrypted: encrypted, alg: alg, key: key, iv: iv, data: data)
    }

    /// `{"data":…,"encoding":…,"recipients":[…],"sender":…,"site_id":…,"type":…,"version":…}`,
    /// identifiers validated as the decoder validates them; nil for anything else.
    mutating func envelope() -> Envelope? {
        guard take(#"{"data":"#), let data = sealedPayload(), take(#","encoding":"#), let encoding = string(),
              take(#","recipients":["#) else { return nil }
        var recipients: [PortableID] = []
        if !take(UInt8(ascii: "]")) {
            repeat {
                guard let text = string(), let recipient = try? PortableID(validating: text) else { return nil }
                recipients.append(recipient)
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "]")) else { return nil }
        }
        guard take(#","sender":"#), let senderText = string(), let sender = try? PortableID(validating: senderText),
              take(#","site_id":"#), let siteText = string(), let siteID = try? SiteID(validating: siteText),
              take(#","type":"#), let typeText = string(), let type = MessageType(rawValue: typeText),
              take(#","version":"#), let version = string(), take(UInt8(ascii: "}")) else { return nil }
        return Envelope(type: type, encoding: encoding, sender: sender, siteID: siteID, version: version, recipients: recipients, data: data)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ChangeEntry {
    /// The entry of a line `WireJSONWriter` wrote, read without Foundation; nil for any other
    /// text (decode it with `WireJSON.decode`, see `decodeWire`).
    public static func fastWire(_ bytes: some Collection<UInt8>) -> ChangeEntry? {
        bytes.withContiguousStorageIfAvailable { buffer -> ChangeEntry? in
            var reader = WireJSONReader(buffer)
            guard let entry = reader.entry(), reader.atEnd else { return nil }
            return entry
        } ?? fastWire(Array(bytes))
    }

    /// Decodes one entry's JSON: the fast path for what `WireJSONWriter` writes, the decoder for
    /// anything else (and for every error).
    public static func decodeWire(_ text: String, what: String, maxDepth: Int = WireLimits.standard.maxJSONDepth) throws -> ChangeEntry {
        if maxDepth >= 1, let entry = fastWire(text.utf8) { return entry }
        return try WireJSON.decode(ChangeEntry.self, from: text, what: what, maxDepth: maxDepth)
    }
}

extension Envelope {
    /// An envelope `WireJSONWriter` wrote (`Envelope.wireJSON`), read without Foundation: the
    /// body of every sync packet, most of it one long base64 string. Nil for any other text
    /// (`CodecRegistry.decode` then reads it with the decoder).
    public static func fastWire(_ bytes: UnsafeRawBufferPointer) -> Envelope? {
        var reader = WireJSONReader(bytes.assumingMemoryBound(to: UInt8.self))
        guard let envelope = reader.envelope(), reader.atEnd else { return nil }
        return envelope
    }
}

extension SyncData {
    /// The content of a sync packet `WireJSONWriter` wrote, read without Foundation; nil for any
    /// other text (see `decodeWire`).
    public static func fastWire(_ bytes: [UInt8]) -> SyncData? {
        bytes.withUnsafeBufferPointer { buffer -> SyncData? in
            var reader = WireJSONReader(buffer)
            guard reader.take(UInt8(ascii: "{")), let batch = reader.batch() else { return nil }
            guard reader.take(#","vector":"#), let vector = reader.vector(), reader.take(UInt8(ascii: "}")), reader.atEnd else { return nil }
            return SyncData(channel: batch.channel, from: batch.from, entries: batch.entries, vector: vector, digest: batch.digest,
                            keys: batch.keys)
        }
    }

    /// Decodes a sync packet's content: the fast path for what `WireJSONWriter` writes, the
    /// decoder for anything else (and for every error).
    public static func decodeWire(_ bytes: [UInt8], what: String, maxDepth: Int) throws -> SyncData {
        // The fast path's form nests three deep (packet, entries, entry).
        if maxDepth >= 3, let data = fastWire(bytes) { return data }
        return try WireJSON.decode(SyncData.self, from: Data(bytes), what: what, maxDepth: maxDepth)
    }
}

extension SyncPage {
    /// A page `WireJSONWriter` wrote, read without Foundation; nil for any other text (see
    /// `decodeWire`).
    public static func fastWire(_ bytes: [UInt8]) -> SyncPage? {
        bytes.withUnsafeBufferPointer { buffer -> SyncPage? in
            var reader = WireJSONReader(buffer)
            guard reader.take(#"{"after":"#), let after = reader.number(),
                  reader.take(UInt8(ascii: ",")), let batch = reader.batch() else { return nil }
            let more: Bool
            if reader.take(#","more":true"#) { more = true } else if reader.take(#","more":false"#) { more = false } else { return nil }
            guard reader.take(#","origin":"#), let originText = reader.string(), let origin = try? OriginID(validating: originText),
                  reader.take(#","vector":"#), let vector = reader.vector(), reader.take(UInt8(ascii: "}")), reader.atEnd else { return nil }
            return SyncPage(channel: batch.channel, from: batch.from, origin: origin, after: after, entries: batch.entries, more: more,
                            vector: vector, digest: batch.digest, keys: batch.keys)
        }
    }

    /// Decodes a pulled page: the fast path for what `WireJSONWriter` writes, the decoder for
    /// anything else (and for every error).
    public static func decodeWire(_ bytes: [UInt8], what: String, maxDepth: Int) throws -> SyncPage {
        if maxDepth >= 3, let page = fastWire(bytes) { return page }
        return try WireJSON.decode(SyncPage.self, from: Data(bytes), what: what, maxDepth: maxDepth)
    }
}
