/// Why a value from the wire, a file or a user was refused, in words an admin can act on.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// A field is missing, has the wrong shape or is out of range.
    case invalidField(String, reason: String)
    /// An entry's `id` is not the hash of its content: altered in transit or forged.
    case entryIDMismatch(id: String, expected: String)
    /// JSON text could not be parsed.
    case malformedJSON(String)
    /// A size or count limit was exceeded.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .invalidField(let field, let reason):
            return "invalid \(field): \(reason)"
        case .entryIDMismatch(let id, let expected):
            return "entry \(id) does not match its content (content hashes to \(expected)); it was altered or forged"
        case .malformedJSON(let why):
            return "malformed JSON: \(why)"
        case .tooLarge(let why):
            return "too large: \(why)"
        }
    }
}
