/// Failures of the crypto layer, worded for a server admin reading a log or an error body.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// A key, nonce or signature had the wrong number of bytes.
    case badLength(what: String, expected: Int, actual: Int)
    /// Text that should have been base64url (no padding) or hex was not.
    case badEncoding(what: String)
    /// A signature did not verify with the given public key.
    case badSignature
    /// Authenticated decryption failed: wrong key, wrong additional data or altered bytes.
    case decryptionFailed(what: String)
    /// The passphrase does not open this file.
    case wrongPassphrase
    /// An encrypted container is truncated, reordered or altered.
    case damaged(String)
    /// libsodium refused an operation (out of memory for Argon2id, for instance).
    case operationFailed(String)

    public var description: String {
        switch self {
        case .badLength(let what, let expected, let actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case .badEncoding(let what):
            return "\(what) is not valid base64url/hex text"
        case .badSignature:
            return "signature does not verify"
        case .decryptionFailed(let what):
            return "cannot decrypt \(what): wrong key or damaged data"
        case .wrongPassphrase:
            return "wrong passphrase"
        case .damaged(let why):
            return "the encrypted file is damaged: \(why)"
        case .operationFailed(let what):
            return "crypto operation failed: \(what)"
        }
    }
}
