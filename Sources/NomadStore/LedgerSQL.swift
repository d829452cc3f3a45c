/// The statements a change costs in the store, once per entry: the log row, the state row
/// (read, then written when the entry wins); then, once per transaction, one outbox run per other
/// location (extended or added), the vector of each origin it moved and the digest. Kept in one place so
/// that `nomadsync bench` runs the very same SQL through SQLite's C API as its raw reference.
public enum LedgerSQL {
    public static let insertEntry = "INSERT INTO entry (channel, id, origin, seq, hlc, entity, key, op, body, local) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    public static let setVector = """
        INSERT INTO vector (channel, origin, seq) VALUES (?, ?, ?)
        ON CONFLICT (channel, origin) DO UPDATE SET seq = excluded.seq
        """
    /// The columns of a state row, in the order `StoreTransaction.stateRow(from:)` reads them.
    public static let stateColumns = "entity, key, entry_id, origin, hlc, op, body"
    public static let selectState = "SELECT \(stateColumns) FROM state WHERE channel = ? AND entity = ? AND key = ?"
    public static let putState = """
        INSERT INTO state (channel, entity, key, entry_id, origin, hlc, op, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (channel, entity, key) DO UPDATE SET
            entry_id = excluded.entry_id, origin = excluded.origin, hlc = excluded.hlc,
            op = excluded.op, body = excluded.body
        """
    /// Where a local append's entries sit in the log (consecutive seqs of one origin), to queue.
    public static let entryPositions = "SELECT position FROM entry WHERE channel = ? AND origin = ? AND seq BETWEEN ? AND ? ORDER BY seq"
    public static let entryPosition = "SELECT position FROM entry WHERE channel = ? AND origin = ? AND seq = ?"
    /// The last outbox run of a location: the only one a just-appended entry can extend.
    public static let lastOutboxRun = "SELECT first, last FROM outbox_run WHERE channel = ? AND site_id = ? ORDER BY first DESC LIMIT 1"
    /// The outbox run a new one may extend: the one with the greatest first position before it.
    public static let outboxRunBefore = """
        SELECT first, last FROM outbox_run WHERE channel = ? AND site_id = ? AND first < ? ORDER BY first DESC LIMIT 1
        """
    /// The outbox runs a new one may merge with that start at or after its first position.
    public static let outboxRunsStartingIn = "SELECT first, last FROM outbox_run WHERE channel = ? AND site_id = ? AND first BETWEEN ? AND ?"
    public static let extendOutboxRun = "UPDATE outbox_run SET last = ? WHERE channel = ? AND site_id = ? AND first = ?"
    public static let insertOutboxRun = "INSERT INTO outbox_run (channel, site_id, first, last) VALUES (?, ?, ?, ?)"
    public static let setDigest = "UPDATE channel SET digest = ? WHERE id = ?"
}
