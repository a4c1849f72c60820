import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The simulator's own small SQLite wrapper. It shares nothing with the ledger's (AllotStore):
// the simulator stands in for Apple and must not depend on the engine's storage.

/// An operational SQLite failure: the extended code, SQLite's message and the SQL, never the
/// bound values (tokens and serial numbers are bound).
struct SimulatorSQLiteError: Error, Sendable, CustomStringConvertible {
    let code: Int32
    let message: String
    let sql: String?

    init(code: Int32, connection: OpaquePointer?, sql: String?) {
        self.code = code
        self.message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
        self.sql = sql
    }

    var description: String { "SQLite error \(code): \(message)" + (sql.map { " (in: \($0.prefix(120)))" } ?? "") }
}

/// One connection, owning its handle; not Sendable, it lives inside the `AppleSimulator` actor.
/// Statements are prepared once and cached by their SQL.
final class SimulatorConnection {
    let handle: OpaquePointer
    private var cache: [String: SimulatorStatement] = [:]

    /// How long a call waits for another process's write transaction (`allot sim serve` beside
    /// CLI `sim` commands) before failing.
    static let busyTimeoutMilliseconds: Int32 = 10_000
    /// The page cache of one connection, in KiB (SQLite's negative `cache_size`).
    static let cacheKibibytes = 65_536
    /// How much of the file SQLite may map into memory for reads, in bytes.
    static let mmapBytes = 268_435_456
    /// The page size of a new state file, in bytes (SQLite's default is 4,096): an event's
    /// ~16 KB of serials then takes two pages instead of five, and an associate of 1,000
    /// serials splits fewer index pages (measured ~10% less CPU per bulk insert).
    static let pageBytes = 16_384

    init(path: String, create: Bool) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SimulatorSQLiteError(code: code, connection: handle, sql: nil)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        // WAL: readers in other processes never block the writer; NORMAL survives a process
        // crash, which is all a simulator needs. A fleet's state is ~140 MiB at a million
        // assignments: a 64 MiB page cache and memory-mapped reads keep the indexes' upper
        // levels in memory (with SQLite's 2 MiB default, a call at 1M cost 1.5× one at 1k).
        // The page size holds only if set before the file's first table (and before WAL).
        if create { try execute("PRAGMA page_size = \(Self.pageBytes)") }
        try execute("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -\(Self.cacheKibibytes); PRAGMA mmap_size = \(Self.mmapBytes);
            """)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        sqlite3_free(message)
        guard code == SQLITE_OK else { throw SimulatorSQLiteError(code: sqlite3_extended_errcode(handle), connection: handle, sql: sql) }
    }

    func statement(_ sql: String) throws -> SimulatorStatement {
        if let cached = cache[sql] { return cached }
        let statement = try SimulatorStatement(connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SimulatorSQLValue] = []) throws -> Int {
        let statement = try statement(sql)
        statement.bind(values)
        return try statement.run()
    }

    func query<Row>(_ sql: String, _ values: [SimulatorSQLValue] = [], row: (SimulatorStatement) throws -> Row) throws -> [Row] {
        let statement = try statement(sql)
        defer { statement.reset() }
        statement.bind(values)
        var rows: [Row] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    func queryFirst<Row>(_ sql: String, _ values: [SimulatorSQLValue] = [], row: (SimulatorStatement) throws -> Row) throws -> Row? {
        let statement = try statement(sql)
        defer { statement.reset() }
        statement.bind(values)
        return try statement.step() ? try row(statement) : nil
    }
}

/// A prepared statement, finalized with its owner. Binding an index that does not exist traps.
final class SimulatorStatement {
    let handle: OpaquePointer
    private unowned let connection: SimulatorConnection
    let sql: String

    init(connection: SimulatorConnection, sql: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else { throw SimulatorSQLiteError(code: code, connection: connection.handle, sql: sql) }
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ code: Int32, _ index: Int32) {
        precondition(code == SQLITE_OK, "binding parameter \(index) of \(sql.prefix(80)) failed with \(code)")
    }

    func bind(_ values: [SimulatorSQLValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let integer): check(sqlite3_bind_int64(handle, index, integer), index)
            case .real(let real): check(sqlite3_bind_double(handle, index, real), index)
            case .text(let text):
                var text = text
                let code = text.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { chars in
                        sqlite3_bind_text(handle, index, chars.baseAddress ?? simulatorEmptyText, Int32(chars.count), simulatorTransient)
                    }
                }
                check(code, index)
            case .null: check(sqlite3_bind_null(handle, index), index)
            }
        }
    }

    /// True when a row is ready, false when done; SQLite's failures throw.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SimulatorSQLiteError(code: sqlite3_extended_errcode(connection.handle), connection: connection.handle, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func run() throws -> Int {
        defer { reset() }
        while try step() {}
        return Int(sqlite3_changes(connection.handle))
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
}

enum SimulatorSQLValue {
    case integer(Int64)
    case real(Double)
    case text(String)
    case null

    static func int(_ value: Int) -> Self { .integer(Int64(value)) }
    static func bool(_ value: Bool) -> Self { .integer(value ? 1 : 0) }
    static func optional(_ value: String?) -> Self { value.map(Self.text) ?? .null }
}

nonisolated(unsafe) private let simulatorEmptyText: UnsafePointer<CChar> = {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return UnsafePointer(pointer)
}()

/// SQLite copies the bound text before `bind` returns.
private let simulatorTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
