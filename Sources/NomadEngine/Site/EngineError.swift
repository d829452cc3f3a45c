import NomadModel

/// Why the engine refused a batch, a change or a command. Every refusal leaves the store as it
/// was: nothing from a refused packet is recorded.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// An entry failed validation; `index` is its position in the batch (0-based).
    case invalidEntry(index: Int, id: String, reason: String)
    /// `(origin, seq)` is already held with a different id: the origin reused a sequence number.
    case fork(origin: String, seq: UInt64, held: String, offered: String)
    /// An entry's clock reading is too far ahead of ours.
    case clockSkew(id: String, origin: String, aheadMilliseconds: UInt64)
    /// A batch has more entries than the limit.
    case tooManyEntries(count: Int, limit: Int)
    /// A local change was refused before anything was written.
    case invalidChange(index: Int, reason: String)
    /// Another clone holds entries of this site's own writer that this site does not: it was
    /// restored from a backup. Writing would reuse sequence numbers.
    case staleWriter(origin: String)
    case siteNotInitialised
    case siteAlreadyInitialised
    case channelNotFound(String)
    case channelExists(String)
    /// An export file or packet is well-formed crypto but its content is inconsistent.
    case invalidImport(String)
    /// A packet is not for this site or this channel.
    case notForThisSite(String)
    case invalidArgument(String)
    /// Too many entries already wait for a gap to fill; the gap must be pulled first.
    case tooManyHeld(origin: String, limit: Int, missingFrom: UInt64)
    /// The request token was already used within the replay window.
    case replayedToken(windowMinutes: UInt64)
    /// The sending site is not a location of the channel and the packet does not introduce it.
    case unknownSender(String)
    /// This site retired its location of the channel: it no longer serves or writes it.
    case retired(String)
    /// A request named or was signed under a portable_id that a rekey with `update:true`
    /// replaced: it is refused from then on.
    case supersededID(String, keys: [ChangeEntry])
    /// The channel was purged (deleted everywhere).
    case purged(String)
    /// A rekey whose signatures or ids do not verify.
    case invalidRekey(String)
    /// The channel is still being bootstrapped here (`clone accept` has not finished).
    case bootstrapping(String)
    /// A clone ticket was refused.
    case ticketRefused(TicketProblem, String)
    /// A migration target has not caught up with this site yet.
    case notCaughtUp(location: String, behind: UInt64, queued: Int, lastHeard: String?)
    /// A `rekey` message this site already applied, sent again.
    case replayedRekey(String)

    public var description: String {
        switch self {
        case .invalidEntry(let index, let id, let reason):
            return "entry #\(index + 1) (id \(id)) refused: \(reason); nothing from this batch was applied"
        case .fork(let origin, let seq, let held, let offered):
            return "fork: origin \(origin) seq \(seq) is already held as entry \(held) but entry \(offered) claims the same place; the sending site reused a sequence number (restored from an old backup?) and heals by taking a new writer id. Nothing from this batch was applied"
        case .clockSkew(let id, let origin, let ahead):
            return "entry \(id) from origin \(origin) is stamped \(ahead / 1000) s in the future (limit 3600 s); the sender's clock is skewed. Nothing from this batch was applied"
        case .tooManyEntries(let count, let limit):
            return "\(count) entries in one batch; the limit is \(limit)"
        case .invalidChange(let index, let reason):
            return "change #\(index + 1) refused: \(reason); nothing was written"
        case .staleWriter(let origin):
            return "other clones hold entries of this site's writer \(origin) that this site lacks (restored from a backup?); refusing to write so no sequence number is reused"
        case .siteNotInitialised:
            return "this data directory has no site yet: run `nomadsync init --url URL`"
        case .siteAlreadyInitialised:
            return "this data directory already has a site"
        case .channelNotFound(let nick):
            return "no channel '\(nick)' on this site"
        case .channelExists(let what):
            return "channel \(what) already exists on this site"
        case .invalidImport(let why):
            return "import refused: \(why); nothing was created"
        case .notForThisSite(let why):
            return "packet refused: \(why)"
        case .invalidArgument(let why):
            return why
        case .tooManyHeld(let origin, let limit, let from):
            return "\(limit) entries already wait for missing entries (origin \(origin) from seq \(from)); send the missing entries first. Nothing from this batch was applied"
        case .retired(let nick):
            return "this site retired its location of '\(nick)'; the other clones carry the channel on"
        case .purged(let nick):
            return "channel '\(nick)' was deleted everywhere (purged); nothing of it is kept or served"
        case .supersededID(let id, _):
            return "portable_id \(id) was replaced by a rekey (update) and is no longer valid for this channel"
        case .bootstrapping(let nick):
            return "'\(nick)' is still being bootstrapped on this site; rerun `nomadsync clone accept` with its ticket to finish"
        case .ticketRefused(let problem, let why):
            return "clone ticket refused (\(problem.rawValue)): \(why)"
        case .notCaughtUp(let location, let behind, let queued, let lastHeard):
            return "\(location) has not caught up: it last reported \(behind) entries fewer than this site holds, and \(queued) entries still wait in the outbox for it (last heard: \(lastHeard ?? "never")); wait for its next heartbeat and try again"
        case .replayedRekey(let id):
            return "rekey refused: the rekey to \(id) was already applied here (a replay); nothing was changed"
        case .invalidRekey(let why):
            return "rekey refused: \(why); nothing was changed"
        case .unknownSender(let site):
            return "packet refused: site \(site) is not a location of this channel (send its location entry first)"
        case .replayedToken(let minutes):
            return "X-Zot-Token was already used within the last \(minutes) minutes (replay)"
        }
    }
}

extension EngineError {
    /// The HTTP status and body a clone answers with when it refuses for this reason
    /// (docs/PROTOCOL.md §7.4). `fork` and `unknownSender` carry a `code` the sender acts on.
    public var refusal: (status: Int, body: ErrorBody) {
        switch self {
        case .invalidEntry, .clockSkew, .invalidImport, .tooManyHeld: return (422, ErrorBody(message: description))
        case .fork(let origin, let seq, _, _): return (409, ErrorBody(message: description, code: "fork", origin: origin, seq: seq))
        case .replayedToken, .staleWriter: return (409, ErrorBody(message: description))
        case .unknownSender: return (403, ErrorBody(message: description, code: "unknown-location"))
        case .notForThisSite: return (403, ErrorBody(message: description))
        case .tooManyEntries: return (413, ErrorBody(message: description))
        case .channelNotFound: return (404, ErrorBody(message: description))
        case .retired: return (410, ErrorBody(message: description))
        case .purged: return (410, ErrorBody(message: description, code: "purged"))
        case .supersededID(_, let keys): return (410, ErrorBody(message: description, code: "rekeyed", keys: keys))
        case .invalidRekey: return (401, ErrorBody(message: description))
        case .replayedRekey: return (409, ErrorBody(message: description, code: "replayed"))
        case .notCaughtUp, .bootstrapping: return (409, ErrorBody(message: description))
        case .ticketRefused(let problem, _):
            let status = switch problem {
            case .unknown: 403
            case .forged: 401
            case .expired: 410
            case .used: 409
            }
            return (status, ErrorBody(message: description, code: "ticket-\(problem.rawValue)"))
        case .channelExists: return (409, ErrorBody(message: description, code: "exists"))
        case .invalidChange, .invalidArgument: return (400, ErrorBody(message: description))
        case .siteNotInitialised, .siteAlreadyInitialised: return (500, ErrorBody(message: description))
        }
    }
}

/// Why a clone ticket was refused.
public enum TicketProblem: String, Sendable, Equatable {
    /// No such ticket here, or not claimed yet.
    case unknown
    /// The proof of the secret or the claimant's site signature does not verify.
    case forged
    /// Not claimed in time, or the claim is too old to resume.
    case expired
    /// Claimed by another site, or its claimant is a clone already.
    case used
}
