/// The statements a change costs in the store, once per entry: the log row, the state row
/// (read, then written when the entry wins) and one outbox row per other location; then, once
/// per transaction, the vector of each origin it moved and the digest. Kept in one place so
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
    public static let enqueue = """
        INSERT OR IGNORE INTO outbox (channel, site_id, position)
        SELECT channel, ?, position FROM entry WHERE channel = ? AND origin = ? AND seq = ?
        """
    public static let setDigest = "UPDATE channel SET digest = ? WHERE id = ?"
}
