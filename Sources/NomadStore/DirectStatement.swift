import Foundation
import GRDB
import GRDBSQLite

/// A cached statement bound, stepped and read through SQLite's C API: for the few statements
/// the log writer runs for every entry (insert the entry, read and write its document's state
/// row). Through GRDB each of them built an argument array, a row object and its column
/// table: in a catch-up, more CPU than SQLite spent executing them.
///
/// Values are bound with their exact byte length (a string with a NUL in it is bound whole),
/// every result code is checked and turned into `StoreError.database`, and the statement is
/// reset after each use, so GRDB can run the same cached statement afterwards.
///
/// ```swift
/// let insert = try DirectStatement(db, sql: "INSERT INTO t (a, b) VALUES (?, ?)")
/// try insert.run { try $0.bind(1, 42); try $0.bind(2, "text") }
/// ```
struct DirectStatement {
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection?
    private let sql: String
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: Database, sql: String) throws {
        handle = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        self.sql = sql
    }

    func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ index: Int32, _ value: String) throws {
        var text = value
        try text.withUTF8 { bytes in
            guard let count = Int32(exactly: bytes.count) else { throw StoreError.database("a value of \(bytes.count) bytes is too long to store") }
            guard let base = bytes.baseAddress, count > 0 else { return try check(sqlite3_bind_text(handle, index, "", 0, Self.transient)) }
            try check(sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), count, Self.transient))
        }
    }

    /// Binds with `bind`, then steps the statement to its end.
    func run(_ bind: (DirectStatement) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        try bind(self)
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: continue
            case SQLITE_DONE: return
            case let code: try check(code)
            }
        }
    }

    /// Binds with `bind`, steps once and reads the first row with `read` (nil: no row).
    func first<T>(_ bind: (DirectStatement) throws -> Void, _ read: (DirectStatement) throws -> T) throws -> T? {
        defer { sqlite3_reset(handle) }
        try bind(self)
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return try read(self)
        case SQLITE_DONE: return nil
        case let code: try check(code); return nil
        }
    }

    /// Binds with `bind`, steps through every row and reads each with `read`, in order.
    func all<T>(_ bind: (DirectStatement) throws -> Void, _ read: (DirectStatement) throws -> T) throws -> [T] {
        defer { sqlite3_reset(handle) }
        try bind(self)
        var out: [T] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: out.append(try read(self))
            case SQLITE_DONE: return out
            case let code: try check(code); return out
            }
        }
    }

    /// Whether column `index` of the current row is text with exactly the UTF-8 bytes of
    /// `value` (no String is made of the column).
    func text(_ index: Int32, equals value: String) -> Bool {
        guard sqlite3_column_type(handle, index) == SQLITE_TEXT, let bytes = sqlite3_column_text(handle, index) else { return false }
        let count = Int(sqlite3_column_bytes(handle, index))
        var value = value
        return value.withUTF8 { utf8 in
            guard utf8.count == count else { return false }
            guard let base = utf8.baseAddress, count > 0 else { return true }
            return memcmp(bytes, base, count) == 0
        }
    }

    /// Column `index` of the current row as an integer (a NULL is an error).
    func int64(_ index: Int32) throws -> Int64 {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { throw StoreError.database("NULL in column \(index) of \(sql)") }
        return sqlite3_column_int64(handle, index)
    }

    /// Column `index` of the current row as text (a NULL is an error).
    func text(_ index: Int32) throws -> String {
        guard let bytes = sqlite3_column_text(handle, index) else { throw StoreError.database("NULL in column \(index) of \(sql)") }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE else {
            let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "error \(code)"
            throw StoreError.database("\(message) (\(sql))")
        }
    }
}
