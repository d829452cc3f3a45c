import Foundation
import GRDBSQLite
import NomadStore

/// SQLite through its C API and nothing else: the raw reference `nomadsync bench` compares the
/// store with. Statements are prepared once and reused, as a C program would.
final class RawSQLite {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private var db: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String) throws {
        _ = Store.sqliteOptionsSet  // the reference runs with the options the store sets
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            throw Failure(description: "cannot open \(path): \(db.map { String(cString: sqlite3_errmsg($0)) } ?? "")")
        }
        // The store's settings: WAL, synchronous NORMAL, foreign keys on.
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    /// Binds `values` (Int64, String, [UInt8] or nil) to the cached statement and steps it to the end.
    /// Returns how many rows it produced.
    @discardableResult
    func run(_ sql: String, _ values: [Any?]) throws -> Int {
        try run(sql, values) { _ in }
    }

    /// The integer columns of each row the statement produces.
    func int64Rows(_ sql: String, _ values: [Any?]) throws -> [[Int64]] {
        var rows: [[Int64]] = []
        try run(sql, values) { statement in
            rows.append((0..<sqlite3_column_count(statement)).map { sqlite3_column_int64(statement, $0) })
        }
        return rows
    }

    /// `run`, handing each row to `row` while the statement stands on it.
    @discardableResult
    func run(_ sql: String, _ values: [Any?], row: (OpaquePointer) -> Void) throws -> Int {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch value {
            case let v as Int64: code = sqlite3_bind_int64(statement, position, v)
            case let v as Int: code = sqlite3_bind_int64(statement, position, Int64(v))
            case let v as String: code = sqlite3_bind_text(statement, position, v, -1, Self.transient)
            case let v as [UInt8]: code = v.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), Self.transient) }
            default: code = sqlite3_bind_null(statement, position)
            }
            guard code == SQLITE_OK else { throw failure(sql) }
        }
        var rows = 0
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows += 1; row(statement)
            case SQLITE_DONE: return rows
            default: throw failure(sql)
            }
        }
    }

    /// The first column of the first row, as an integer.
    func int64(_ sql: String) throws -> Int64 {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw failure(sql) }
        return sqlite3_column_int64(statement, 0)
    }

    /// The first column of the first row, as text ("" for NULL).
    func text(_ sql: String) throws -> String {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw failure(sql) }
        return sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw failure(sql) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ sql: String) -> Failure {
        Failure(description: "\(String(cString: sqlite3_errmsg(db))) in \(sql.prefix(80))")
    }
}
