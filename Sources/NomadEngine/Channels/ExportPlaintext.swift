import NomadCrypto

/// The plaintext of an export file as it comes out of its container, a chunk at a time, read
/// as lines and runs of bytes: an import never holds more than a chunk and the line it reads.
final class ExportPlaintext {
    static let newline = UInt8(ascii: "\n")

    private let container: PassphraseContainer.Reader
    private var buffer: [UInt8] = []
    private var offset = 0
    private var ended = false

    init(_ container: PassphraseContainer.Reader) {
        self.container = container
    }

    deinit { wipe() }

    /// Bytes up to the first of `terminators` (which is consumed, not returned) and the
    /// terminator met, nil when the plaintext ended first. Throws past `maxBytes`.
    func segment(endingAt terminators: [UInt8], maxBytes: Int, what: String) throws -> (bytes: [UInt8], terminator: UInt8?) {
        var out: [UInt8] = []
        while try fill() {
            let end = buffer[offset...].firstIndex(where: terminators.contains) ?? buffer.endIndex
            guard end - offset <= maxBytes - out.count else {
                throw EngineError.invalidImport("\(what) is longer than \(maxBytes) bytes")
            }
            out += buffer[offset..<end]
            offset = end
            if end < buffer.endIndex {
                offset += 1
                return (out, buffer[end])
            }
        }
        return (out, nil)
    }

    /// The next line (without its newline); throws when the plaintext ends before one.
    func line(maxBytes: Int, what: String) throws -> [UInt8] {
        let (bytes, terminator) = try segment(endingAt: [Self.newline], maxBytes: maxBytes, what: what)
        guard terminator != nil else { throw EngineError.invalidImport("the file ends inside \(what)") }
        return bytes
    }

    /// Hands the next `count` bytes to `body` a piece at a time; throws when fewer are left.
    func read(_ count: UInt64, what: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var left = count
        while left > 0 {
            guard try fill() else { throw EngineError.invalidImport("the file ends inside \(what)") }
            let take = Int(min(UInt64(buffer.count - offset), left))
            try buffer[offset..<(offset + take)].withUnsafeBytes(body)
            offset += take
            left -= UInt64(take)
        }
    }

    /// True when every byte was read and the container's end verified (its FINAL chunk came and
    /// nothing follows it); false when bytes are left.
    func isAtEnd() throws -> Bool {
        try !fill()
    }

    /// Makes sure unread bytes are buffered; false at the verified end.
    private func fill() throws -> Bool {
        while offset == buffer.count {
            guard !ended else { return false }
            wipe()
            guard let chunk = try container.next() else {
                ended = true
                buffer = []
                offset = 0
                return false
            }
            buffer = chunk
            offset = 0
        }
        return true
    }

    private func wipe() {
        for i in buffer.indices { buffer[i] = 0 }
    }
}
