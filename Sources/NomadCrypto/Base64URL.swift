import CSodium

/// base64url without padding (RFC 4648 §5), the text form of every key, nonce and id on the wire.
public enum Base64URL {
    /// Encodes bytes as base64url with no `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Sodium.ensure()
        let input = Array(bytes)
        let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)
        let length = sodium_base64_encoded_len(input.count, variant)
        var output = [CChar](repeating: 0, count: length)
        input.withUnsafeBufferPointer { src in
            _ = sodium_bin2base64(&output, length, src.baseAddress, src.count, variant)
        }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes base64url text with no padding. Rejects padding, other alphabets and stray bytes.
    public static func decode(_ text: String, what: String = "value") throws -> [UInt8] {
        Sodium.ensure()
        let utf8 = Array(text.utf8)
        // libsodium (1.0.18) reads bytes from 0x80 up as signed and takes them for letters:
        // refuse them first, without a branch on any one byte (the text may hold a key).
        guard utf8.reduce(0, |) & 0x80 == 0 else { throw CryptoError.badEncoding(what: what) }
        var output = [UInt8](repeating: 0, count: utf8.count * 3 / 4 + 1)
        var written = 0
        var end: UnsafePointer<CChar>? = nil
        let status = utf8.withUnsafeBufferPointer { src -> Int32 in
            src.withMemoryRebound(to: CChar.self) { chars in
                sodium_base642bin(
                    &output, output.count, chars.baseAddress, chars.count, nil, &written, &end,
                    Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING))
            }
        }
        guard status == 0 else { throw CryptoError.badEncoding(what: what) }
        // libsodium stops at the first invalid character; require it consumed everything.
        let consumed = utf8.withUnsafeBufferPointer { src -> Int in
            guard let end, let base = src.baseAddress else { return 0 }
            return UnsafeRawPointer(end) - UnsafeRawPointer(base)
        }
        guard consumed == utf8.count else { throw CryptoError.badEncoding(what: what) }
        return Array(output.prefix(written))
    }

    /// Whether `byte` is one of the 64 characters of the base64url alphabet.
    public static func isAlphabet(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 45 || byte == 95
    }

    /// Decodes and checks the byte length in one step.
    public static func decode(_ text: String, what: String, length: Int) throws -> [UInt8] {
        let bytes = try decode(text, what: what)
        guard bytes.count == length else {
            throw CryptoError.badLength(what: what, expected: length, actual: bytes.count)
        }
        return bytes
    }
}

/// Lowercase hexadecimal, used for digests and `sha256://` names.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase or uppercase hex; odd lengths and other characters are refused.
    public static func decode(_ text: String, what: String = "hex value") throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { throw CryptoError.badEncoding(what: what) }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else {
                throw CryptoError.badEncoding(what: what)
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
