/// Writes the JSON of the hot wire types — a `ChangeEntry`, a `SyncData`, an `Envelope` — straight into bytes,
/// byte for byte what `WireJSON.encode` makes of them (keys sorted, slashes not escaped), without
/// Foundation's encoder: it cost ~13 µs an entry, most of a sync packet's sealing and of
/// `log show` and `channel export`. Tests compare both outputs on hostile strings.
///
/// ```swift
/// var out = WireJSONWriter()
/// entry.writeJSON(to: &out)
/// let line = out.bytes
/// ```
public struct WireJSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ byte: UInt8) {
        bytes.append(byte)
    }

    public mutating func raw(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\b \f \n \r \t` or `\u00xx`,
    /// everything else (non-ASCII included) as its UTF-8 bytes.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            // Runs without anything to escape are found a word at a time and copied whole.
            var index = JSONStringScan.nextSpecial(in: utf8, from: 0)
            while index < utf8.count {
                let byte = utf8[index]
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                index = JSONStringScan.nextSpecial(in: utf8, from: start)
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0x0F)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// An unsigned integer in decimal.
    public mutating func number(_ value: UInt64) {
        guard value >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var count = 0
        var rest = value
        while rest > 0 { count += 1; rest /= 10 }
        let end = bytes.count + count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        rest = value
        for index in stride(from: end - 1, through: end - count, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }

    /// A hybrid timestamp's wire text, `"` and all: 16 lowercase hex digits (`HybridTimestamp.text`).
    public mutating func timestamp(_ value: HybridTimestamp) {
        bytes.append(UInt8(ascii: "\""))
        for shift in stride(from: 60, through: 0, by: -4) {
            bytes.append(Self.hexDigits[Int((value.rawValue >> UInt64(shift)) & 0x0F)])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

extension ChangeEntry {
    /// The entry's wire JSON (see `WireJSONWriter`).
    public func writeJSON(to out: inout WireJSONWriter) {
        out.raw(#"{"body":"#)
        out.string(body)
        out.raw(#","entity":"#)
        out.string(entity)
        out.raw(#","hlc":"#)
        out.timestamp(hlc)
        out.raw(#","id":"#)
        out.string(id)
        out.raw(#","key":"#)
        out.string(key)
        out.raw(#","op":"#)
        out.string(op.rawValue)
        out.raw(#","origin":"#)
        out.string(origin.text)
        out.raw(#","seq":"#)
        out.number(seq)
        out.raw(UInt8(ascii: "}"))
    }

    /// The entry's wire JSON as bytes.
    public var wireJSON: [UInt8] {
        var out = WireJSONWriter(capacity: body.utf8.count + key.utf8.count + 200)
        writeJSON(to: &out)
        return out.bytes
    }
}

extension SyncData {
    /// The packet content's wire JSON (see `WireJSONWriter`): what is sealed into a sync message.
    public func wireJSON() throws -> [UInt8] {
        var out = WireJSONWriter(capacity: Self.capacity(entries))
        out.raw(UInt8(ascii: "{"))
        Self.writeBatch(channel: channel, digest: digest, entries: entries, from: from, keys: keys, to: &out)
        // Foundation's key order for the vector (few keys, once a packet): the bytes stay its.
        out.raw(#","vector":"#)
        out.raw(Array(try WireJSON.encode(vector).utf8))
        out.raw(UInt8(ascii: "}"))
        return out.bytes
    }

    /// `"channel":…,"digest":…,"entries":[…],"from":…` and `,"keys":[…]` when present: the
    /// fields a sync packet and a pull page share, in sorted order.
    static func writeBatch(channel: PortableID, digest: String, entries: [ChangeEntry], from: SiteID, keys: [ChangeEntry]?,
                           to out: inout WireJSONWriter) {
        out.raw(#""channel":"#)
        out.string(channel.text)
        out.raw(#","digest":"#)
        out.string(digest)
        out.raw(#","entries":"#)
        write(entries, to: &out)
        out.raw(#","from":"#)
        out.string(from.text)
        if let keys {
            out.raw(#","keys":"#)
            write(keys, to: &out)
        }
    }

    static func capacity(_ entries: [ChangeEntry]) -> Int {
        entries.reduce(600) { $0 + $1.body.utf8.count + $1.key.utf8.count + 200 }
    }

    static func write(_ entries: [ChangeEntry], to out: inout WireJSONWriter) {
        out.raw(UInt8(ascii: "["))
        for (index, entry) in entries.enumerated() {
            if index > 0 { out.raw(UInt8(ascii: ",")) }
            entry.writeJSON(to: &out)
        }
        out.raw(UInt8(ascii: "]"))
    }
}

extension SealedPayload {
    /// The payload's wire JSON (see `WireJSONWriter`).
    public func writeJSON(to out: inout WireJSONWriter) {
        out.raw(#"{"alg":"#)
        out.string(alg)
        out.raw(#","data":"#)
        out.string(data)
        out.raw(encrypted ? #","encrypted":true,"iv":"# : #","encrypted":false,"iv":"#)
        out.string(iv)
        out.raw(#","key":"#)
        out.string(key)
        out.raw(UInt8(ascii: "}"))
    }
}

extension Envelope {
    /// The envelope's wire JSON (see `WireJSONWriter`): the body of a `POST /zot`.
    public var wireJSON: [UInt8] {
        var out = WireJSONWriter(capacity: data.data.utf8.count + 600 + 90 * recipients.count)
        out.raw(#"{"data":"#)
        data.writeJSON(to: &out)
        out.raw(#","encoding":"#)
        out.string(encoding)
        out.raw(#","recipients":["#)
        for (index, recipient) in recipients.enumerated() {
            if index > 0 { out.raw(UInt8(ascii: ",")) }
            out.string(recipient.text)
        }
        out.raw(#"],"sender":"#)
        out.string(sender.text)
        out.raw(#","site_id":"#)
        out.string(siteID.text)
        out.raw(#","type":"#)
        out.string(type.rawValue)
        out.raw(#","version":"#)
        out.string(version)
        out.raw(UInt8(ascii: "}"))
        return out.bytes
    }
}

extension SyncPage {
    /// The page's wire JSON (see `WireJSONWriter`): what is sealed into a pull's answer.
    public func wireJSON() throws -> [UInt8] {
        var out = WireJSONWriter(capacity: SyncData.capacity(entries))
        out.raw(#"{"after":"#)
        out.number(after)
        out.raw(UInt8(ascii: ","))
        SyncData.writeBatch(channel: channel, digest: digest, entries: entries, from: from, keys: keys, to: &out)
        out.raw(more ? #","more":true,"origin":"# : #","more":false,"origin":"#)
        out.string(origin.text)
        out.raw(#","vector":"#)
        out.raw(Array(try WireJSON.encode(vector).utf8))
        out.raw(UInt8(ascii: "}"))
        return out.bytes
    }
}
