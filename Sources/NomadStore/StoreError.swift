/// Failures of the data directory and its database, worded for a server admin.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// `nomadsync init` has not been run for this data directory.
    case notInitialised(String)
    /// `nomadsync init` was run already.
    case alreadyInitialised(String)
    /// The host key file is missing, unreadable or has loose permissions.
    case hostKey(String)
    case channelNotFound(String)
    case channelExists(String)
    /// A stored secret does not open with this host key (the key file was replaced?).
    case secretUnreadable(String)
    /// The database refused an operation.
    case database(String)
    /// Another `nomadsync serve` runs on this data directory.
    case locked(String)

    public var description: String {
        switch self {
        case .notInitialised(let dir):
            return "no site in \(dir): run `nomadsync init --url URL --data \(dir)` first"
        case .alreadyInitialised(let dir):
            return "a site already exists in \(dir); refusing to overwrite it"
        case .hostKey(let why):
            return "host key: \(why)"
        case .channelNotFound(let nick):
            return "no channel '\(nick)' on this site"
        case .channelExists(let what):
            return "channel \(what) already exists on this site"
        case .secretUnreadable(let what):
            return "cannot open the stored \(what) with this site's host key (was host.key replaced?)"
        case .database(let why):
            return "database: \(why)"
        case .locked(let dir):
            return "another nomadsync serve is already running on \(dir) (it holds \(dir)/serve.lock); stop it first"
        }
    }
}
