import CSodium

/// Secret key material. The bytes live in their own allocation, locked against swapping where
/// the system allows, and are wiped with `sodium_memzero` when the last copy goes away.
/// `description` never shows the bytes, so a secret that reaches a log line prints as a marker.
public struct SecureBytes: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    final class Storage: @unchecked Sendable {
        // Written only in init; read-only afterwards, so sharing across threads is safe.
        let pointer: UnsafeMutableRawBufferPointer

        init(count: Int) {
            pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            _ = sodium_mlock(pointer.baseAddress!, pointer.count)
        }

        deinit {
            sodium_memzero(pointer.baseAddress!, pointer.count)
            _ = sodium_munlock(pointer.baseAddress!, pointer.count)
            pointer.deallocate()
        }
    }

    let storage: Storage
    /// Number of secret bytes.
    public let count: Int

    /// Copies `bytes` into protected storage. Wipe the source yourself if it was secret.
    public init(_ bytes: [UInt8]) {
        Sodium.ensure()
        storage = Storage(count: bytes.count)
        count = bytes.count
        if !bytes.isEmpty {
            storage.pointer.copyBytes(from: bytes)
        }
    }

    /// Creates `count` bytes filled by `fill`, which writes straight into protected storage.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        Sodium.ensure()
        storage = Storage(count: count)
        self.count = count
        try fill(UnsafeMutableRawBufferPointer(rebasing: storage.pointer[0..<count]))
    }

    /// Gives temporary read access to the secret bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage.pointer[0..<count]))
    }

    /// Copies the secret out. Only for sealing it again (export, key entries); never for logging.
    public func revealedCopy() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in sodium_memcmp(a.baseAddress, b.baseAddress, count) == 0 }
        }
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}
