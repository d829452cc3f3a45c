/// What another clone answered one request, in the protocol's terms (docs/PROTOCOL.md §7.4):
/// the sync client classifies HTTP answers into these three cases, and the engine's delivery
/// planner decides what each means for the outbox, the backoff and the writer.
public enum PeerAnswer<Value: Sendable>: Sendable {
    /// A 2xx answer with a well-formed body (for a packet: `success:true`).
    case answered(Value)
    /// The clone answered, and refused: any 4xx, a 2xx without `success:true`, or 5xx at every URL.
    case refused(PeerRefusal)
    /// No URL of the clone answered at all (connection refused, timeout, DNS).
    case unreachable(String)
}

/// A refusal as received: the status and, when the body is an `ErrorBody`, its message and code.
public struct PeerRefusal: Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var status: Int
    public var body: ErrorBody?
    /// The first bytes of a body that is not an `ErrorBody`.
    public var excerpt: String

    public init(url: String, status: Int, body: ErrorBody?, excerpt: String = "") {
        self.url = url
        self.status = status
        self.body = body
        self.excerpt = excerpt
    }

    /// `409 fork`: the clone holds another entry at `(origin, seq)`.
    public var fork: (origin: String, seq: UInt64)? {
        guard status == 409, let body, body.code == "fork", let origin = body.origin, let seq = body.seq else { return nil }
        return (origin, seq)
    }

    /// `410 rekeyed`: the packet was signed under an id a rekey replaced; the clone sent the
    /// channel's `key` entries along.
    public var rekeyed: [ChangeEntry]? { status == 410 && body?.code == "rekeyed" ? body?.keys ?? [] : nil }

    /// `403 unknown-location`: the clone does not know the sending site as a location.
    public var unknownLocation: Bool { status == 403 && body?.code == "unknown-location" }

    public var description: String { "\(url) answered \(status): \(body?.message ?? excerpt)" }
}
