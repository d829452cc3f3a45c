import CSodium

/// Initialises libsodium exactly once. Every public entry point of this module touches
/// `Sodium.ready` first, so callers never need to think about `sodium_init()`.
enum Sodium {
    /// `sodium_init()` returns 0 on first success and 1 when already initialised; -1 is fatal.
    static let ready: Bool = {
        let status = sodium_init()
        precondition(status >= 0, "libsodium could not be initialised")
        return true
    }()

    @inline(__always)
    static func ensure() { _ = ready }
}
