import AllotCore
import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection. It owns the handle and closes it. Not Sendable: it lives behind one
/// serialising owner (the engine's actor). Statements used on the hot path are prepared once and
/// cached by their SQL.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]
    /// Rows of `devices` inserted, updated or deleted through this connection, committed or
    /// not, counted by SQLite's update hook: the device cache's signal that a write it was not
    /// told about happened (`PRAGMA data_version` sees only other connections).
    public private(set) var deviceWrites: UInt64 = 0

    /// How long a writer waits for another connection's write lock before failing.
    public static let busyTimeoutMilliseconds: Int32 = 10_000

    /// Mode of a database file this connection creates: owner only, since the ledger holds
    /// every tenant's devices and the encrypted tokens. SQLite gives the WAL and shared-memory
    /// files the database file's mode, so they are owner-only too.
    public static let createdFileMode: mode_t = 0o600

    /// Opens the database at `path`; with `create`, makes it (mode 0600) when it does not exist,
    /// otherwise a missing file is an error (a mistyped path must not leave an empty ledger).
    public init(path: String, create: Bool = true) throws(SQLiteError) {
        if create && path != ":memory:" && !path.isEmpty {
            // Create the file ourselves so its mode does not depend on the umask: O_EXCL leaves
            // an existing file (and its mode) as it is.
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, Self.createdFileMode)
            if descriptor >= 0 { close(descriptor) }
        }
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SQLiteError(code: code, connection: handle, sql: nil)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        // WAL lets readers run beside the one writer; NORMAL syncs at checkpoints, which in WAL
        // mode still survives a process crash (only a power loss can lose the last commits).
        // The hook fires only for rowid tables, so the assignments table (WITHOUT ROWID) of the
        // hot path never calls it.
        sqlite3_update_hook(handle, { context, _, _, table, _ in
            guard let context, let table, strcmp(table, "devices") == 0 else { return }
            Unmanaged<Database>.fromOpaque(context).takeUnretainedValue().deviceWrites &+= 1
        }, Unmanaged.passUnretained(self).toOpaque())
        try execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA foreign_keys = ON;
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -65536;
            """)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows (no bindings).
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: text, sql: sql)
        }
    }

    /// The cached prepared statement for this SQL, reset and ready to bind.
    public func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = cache[sql] { return cached }
        let statement = try Statement(database: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs a query with bound values and maps every row.
    public func query<Row>(_ sql: String, _ values: [SQLValue] = [], row: (Statement) throws -> Row) throws -> [Row] {
        let statement = try statement(sql)
        defer { statement.reset() }
        statement.bind(values)
        var rows: [Row] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// The first row of a query, or nil.
    public func queryFirst<Row>(_ sql: String, _ values: [SQLValue] = [], row: (Statement) throws -> Row) throws -> Row? {
        let statement = try statement(sql)
        defer { statement.reset() }
        statement.bind(values)
        return try statement.step() ? try row(statement) : nil
    }

    /// Runs a statement with bound values; the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> Int {
        let statement = try statement(sql)
        statement.bind(values)
        return try statement.run()
    }

    public var lastInsertRowID: Int64 {
        get { sqlite3_last_insert_rowid(handle) }
        set { sqlite3_set_last_insert_rowid(handle, newValue) }
    }
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in one write transaction: committed if it returns, rolled back if it throws.
    /// BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way
    /// for want of it.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a write transaction that is always rolled back: a dry run.
    public func rolledBack<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        defer { try? execute("ROLLBACK") }
        return try body()
    }

    /// Changes whenever another connection commits: the signal to drop what was cached.
    public func dataVersion() throws -> Int64 {
        try queryFirst("PRAGMA data_version") { $0.int64(0) } ?? 0
    }
}

extension Database: LedgerDatabase {
    public var backend: LedgerBackend { .sqlite }
    public var location: String { path }

    public func runStatement(_ sql: String, _ values: [SQLValue]) throws -> Int { try run(sql, values) }

    public func queryRows<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row] {
        try query(sql, values) { try row($0) }
    }

    public func queryFirstRow<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> Row? {
        try queryFirst(sql, values) { try row($0) }
    }

    /// SQLite has no transient failure to retry: BEGIN IMMEDIATE waits for the write lock
    /// (`busyTimeoutMilliseconds`) before the body runs.
    public func transaction<T>(retrying: Bool, _ body: () throws -> T) throws -> T { try transaction(body) }

    /// BEGIN IMMEDIATE already made this connection the only writer.
    public func lockTenant(_ tenant: TenantID) throws {}

    /// BEGIN IMMEDIATE already made this connection the only writer.
    public func lockSchema() throws {}

    public func schemaVersion() throws -> Int { try queryFirst("PRAGMA user_version") { $0.int(0) } ?? 0 }

    public func setSchemaVersion(_ version: Int) throws { try execute("PRAGMA user_version = \(version)") }
}

extension Statement: SQLRow {}
