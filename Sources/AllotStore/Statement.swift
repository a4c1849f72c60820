import CSQLite

/// A prepared statement. It owns its handle and finalizes it. Binding an index that does not
/// exist is a programmer error and traps; stepping throws SQLite's operational errors.
public final class Statement {
    let handle: OpaquePointer
    private unowned let database: Database
    public let sql: String

    init(database: Database, sql: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw SQLiteError(code: code, connection: database.handle, sql: sql)
        }
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    // MARK: Binding (indexes start at 1, as in SQLite)

    @inline(__always)
    private func check(_ code: Int32, _ index: Int32) {
        precondition(code == SQLITE_OK, "binding parameter \(index) of \(sql.prefix(80)) failed with \(code)")
    }

    @inline(__always) public func bind(_ index: Int32, _ value: Int64) { check(sqlite3_bind_int64(handle, index, value), index) }
    @inline(__always) public func bind(_ index: Int32, _ value: Int) { bind(index, Int64(value)) }
    @inline(__always) public func bind(_ index: Int32, _ value: Bool) { bind(index, Int64(value ? 1 : 0)) }
    @inline(__always) public func bind(_ index: Int32, _ value: some LedgerIDConvertible) { bind(index, value.ledgerRawValue) }
    public func bindNull(_ index: Int32) { check(sqlite3_bind_null(handle, index), index) }

    @inline(__always)
    public func bind(_ index: Int32, _ value: String) {
        var value = value
        // withUTF8 gives the contiguous bytes without copying for native strings.
        let code = value.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // An empty string has no base address; SQLite wants a non-null pointer for ''.
                sqlite3_bind_text(handle, index, chars.baseAddress ?? emptyText, Int32(chars.count), SQLITE_TRANSIENT)
            }
        }
        check(code, index)
    }

    public func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { bindNull(index) }
    }

    public func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { bindNull(index) }
    }

    public func bind(_ index: Int32, blob: [UInt8]?) {
        guard let blob else { return bindNull(index) }
        let code = blob.withUnsafeBytes { bytes in
            sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), SQLITE_TRANSIENT)
        }
        check(code, index)
    }

    /// Binds every value in order, from index 1.
    public func bind(_ values: [SQLValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let integer): bind(index, integer)
            case .text(let text): bind(index, text)
            case .blob(let blob): bind(index, blob: blob)
            case .null: bindNull(index)
            }
        }
    }

    // MARK: Stepping

    /// Steps once: true when a row is ready to read, false when the statement is done.
    @inline(__always)
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(code: sqlite3_extended_errcode(database.handle), connection: database.handle, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Resets the statement for its next use and clears its bindings.
    @inline(__always)
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    @discardableResult
    public func run() throws(SQLiteError) -> Int {
        defer { reset() }
        while try step() {}
        return Int(sqlite3_changes(database.handle))
    }

    // MARK: Reading the current row (columns start at 0, as in SQLite)

    @inline(__always) public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    @inline(__always) public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    @inline(__always) public func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }
    @inline(__always) public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    public func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

/// A value bound to a statement off the hot path.
public enum SQLValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null

    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    public init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
}

/// Ledger identifiers bind as their integer.
public protocol LedgerIDConvertible { var ledgerRawValue: Int64 { get } }

import AllotCore
extension TenantID: LedgerIDConvertible { public var ledgerRawValue: Int64 { rawValue } }
extension TokenID: LedgerIDConvertible { public var ledgerRawValue: Int64 { rawValue } }
extension AssetID: LedgerIDConvertible { public var ledgerRawValue: Int64 { rawValue } }
extension DeviceID: LedgerIDConvertible { public var ledgerRawValue: Int64 { rawValue } }
extension BatchID: LedgerIDConvertible { public var ledgerRawValue: Int64 { rawValue } }

extension Statement {
    /// A column of the current row as the value SQLite holds, with its own type (a copy reads
    /// rows without knowing their columns).
    public func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: .integer(int64(column))
        case SQLITE_TEXT: .text(string(column))
        case SQLITE_BLOB: .blob(blob(column) ?? [])
        case SQLITE_NULL: .null
        default: .text(string(column))   // REAL: the ledger stores none; kept as its text.
        }
    }
}
