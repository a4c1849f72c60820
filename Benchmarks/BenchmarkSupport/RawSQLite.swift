import CSQLite

/// A bare SQLite connection on the C API, for the baselines the engine is compared with (the
/// "limit" and the "naive" allocator). It sets the same pragmas as `AllotStore.Database`, and
/// `pragmas` reads them back so the harness can check that both sides really run alike.
public final class RawConnection {
    public let handle: OpaquePointer

    /// The pragmas of `AllotStore.Database`, repeated here on purpose: the limit must not share
    /// the engine's wrapper, only its settings. `RawConnection.pragmas` is compared with the
    /// engine's connection before anything is measured.
    static let pragmaSQL = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        PRAGMA foreign_keys = ON;
        PRAGMA temp_store = MEMORY;
        PRAGMA cache_size = -65536;
        """

    public init(path: String) {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        precondition(code == SQLITE_OK && handle != nil, "cannot open \(path): \(code)")
        self.handle = handle!
        sqlite3_busy_timeout(self.handle, 10_000)
        exec(Self.pragmaSQL)
    }

    private var closed = false

    /// Closes the connection (its statements must be finalized first); frees its page cache.
    public func close() {
        guard !closed else { return }
        closed = true
        sqlite3_close_v2(handle)
    }

    deinit { close() }

    public func exec(_ sql: String) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "?"
            sqlite3_free(message)
            preconditionFailure("\(sql.prefix(120)) failed: \(code) \(text)")
        }
    }

    public func prepare(_ sql: String) -> OpaquePointer {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, 0, &statement, nil)
        precondition(code == SQLITE_OK && statement != nil, "cannot prepare \(sql.prefix(120)): \(String(cString: sqlite3_errmsg(handle)))")
        return statement!
    }

    /// The first column of the first row as an integer.
    public func int(_ sql: String) -> Int64 {
        let statement = prepare(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return 0 }
        return sqlite3_column_int64(statement, 0)
    }

    public func text(_ sql: String) -> String {
        let statement = prepare(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return "" }
        return String(cString: text)
    }

    /// The settings that decide write cost, as this connection sees them.
    public var pragmas: String {
        "journal_mode=\(text("PRAGMA journal_mode")) synchronous=\(int("PRAGMA synchronous")) "
            + "foreign_keys=\(int("PRAGMA foreign_keys")) cache_size=\(int("PRAGMA cache_size")) temp_store=\(int("PRAGMA temp_store"))"
    }

    /// Steps a statement to its end and resets it; traps on an error (a benchmark has no
    /// caller to hand an error to).
    @inline(__always)
    public static func run(_ statement: OpaquePointer) {
        var code = sqlite3_step(statement)
        while code == SQLITE_ROW { code = sqlite3_step(statement) }
        precondition(code == SQLITE_DONE, "step failed: \(code)")
        sqlite3_reset(statement)
    }
}

/// Tells SQLite to copy bound text before `sqlite3_bind_text` returns.
public let rawTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

public func sqliteVersion() -> String { String(cString: sqlite3_libversion()) }
