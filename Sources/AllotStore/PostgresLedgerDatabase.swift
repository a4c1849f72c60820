import AllotCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The ledger's database on PostgreSQL, through postgres-nio: one connection, used from
/// synchronous Ledger code by waiting on its futures.
///
/// Why blocking: the Ledger is synchronous and owned by the engine's actor, as with SQLite
/// (whose disk waits block the same way). The waits happen on the actor's thread, never on
/// one of NIO's event loops (where `wait()` would deadlock), and no Swift task is needed to
/// finish them (postgres-nio's future API runs on NIO's own threads), so a blocked thread of
/// the cooperative pool can never wait for another one. Each engine holds one connection: the
/// engine's actor serialises its calls, so a pool would have nothing to run beside it.
///
/// Statements are the Ledger's portable SQL: `?` and `?N` become `$N` (outside string
/// literals), and a transaction runs at READ COMMITTED with the tenant's row locked by the
/// writers that decide from what they read (`lockTenant`).
public final class PostgresLedgerDatabase {
    public let target: PostgresLocation
    private var connection: PostgresConnection?
    private let logger: Logger
    private var translated: [String: String] = [:]
    private var inTransaction = false

    /// Attempts of one transaction whose failure was transient (serialization failure,
    /// deadlock, a lost connection before the commit was sent).
    public static let transactionAttemptsMax = 5
    /// Attempts to connect (at start, or after the server went away) before giving up.
    public static let connectAttemptsMax = 5
    /// The wait before attempt n is n times this, in milliseconds.
    public static let retryDelayMillisecondsStep: UInt32 = 100
    public static let connectTimeoutSeconds: Int64 = 10

    public init(_ target: PostgresLocation) throws {
        self.target = target
        // No log output: postgres-nio's debug lines carry the statements' bound values, which
        // may be secrets (an encrypted token is still a token) or personal data.
        logger = Logger(label: "allot.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        try connect()
    }

    // The ledger is synchronous, so its statements wait (`.wait()`, and `usleep` between
    // connection attempts). It is used by the engine, which runs on a thread of its own
    // (`DedicatedThreadExecutor`), and by `allot db copy` on one too (`onAThreadOfItsOwn`), so
    // these waits never hold Swift's cooperative pool. A node's concurrency on PostgreSQL comes
    // from several engines, each with its connection (`NodeEngines`).
    deinit {
        // Waited for: postgres-nio requires a connection closed before it is released. The
        // owner releases it on its own thread, never on an event loop.
        if let connection { let closing: EventLoopFuture<Void> = connection.close(); try? closing.wait() }
    }

    private func connect() throws {
        var configuration = PostgresConnection.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password,
            database: target.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(Self.connectTimeoutSeconds)
        var lastError: (any Error)?
        for attempt in 1...Self.connectAttemptsMax {
            do {
                connection = try PostgresConnection.connect(
                    on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: 1, logger: logger).wait()
                return
            } catch {
                lastError = error
                // A refused password or a missing database will not change by waiting.
                if let failure = PostgresFailure(error, sql: nil, connecting: target), !failure.isConnectionLoss { throw failure }
                usleep(Self.retryDelayMillisecondsStep * UInt32(attempt) * 1000)
            }
        }
        throw PostgresFailure(lastError ?? PostgresFailure.lost, sql: nil, connecting: target) ?? PostgresFailure.lost
    }

    /// The open connection, reconnecting first when the last one was lost.
    private func live() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        // Lost inside a transaction: the transaction is gone with it; `transaction` runs the
        // whole body again on a new connection (or reports it), never the rest of it.
        guard !inTransaction else { throw PostgresFailure.lost }
        connection = nil
        try connect()
        return connection!
    }

    // MARK: Running statements

    /// `?` and `?N` placeholders as `$N`, outside quotes and comments.
    func postgresSQL(_ sql: String) -> String {
        if let known = translated[sql] { return known }
        let result = PlaceholderTranslation.dollarNumbered(sql)
        translated[sql] = result
        return result
    }

    /// Runs one statement already in PostgreSQL's dialect.
    func send(_ sql: String, _ bindings: PostgresBindings, original: String) throws -> PostgresQueryResult {
        let connection = try live()
        do {
            return try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).wait()
        } catch {
            throw PostgresFailure(error, sql: original) ?? error
        }
    }

    /// Runs one statement in PostgreSQL's own dialect with postgres-nio's bindings (arrays for
    /// `unnest`): the set-based paths and the benchmark's bulk-insert limit. The rows it changed.
    public func runNative(_ sql: String, _ bindings: PostgresBindings) throws -> Int {
        try send(sql, bindings, original: sql).metadata.rows ?? 0
    }

    private func send(_ sql: String, _ values: [SQLValue]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .integer(let integer): bindings.append(integer)
            case .text(let text):
                // PostgreSQL's text cannot hold U+0000 (SQLite's can): refused in one sentence
                // before the statement runs, so the transaction rolls back with nothing written.
                guard !text.utf8.contains(0) else {
                    throw AllotError.invalidInput("a text value holds a NUL character (U+0000), which PostgreSQL cannot store; remove it")
                }
                bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .null: bindings.appendNull()
            }
        }
        return try send(postgresSQL(sql), bindings, original: sql)
    }

    private func plain(_ sql: String) throws {
        _ = try send(sql, PostgresBindings(), original: sql)
    }
}

extension PostgresLedgerDatabase: LedgerDatabase {
    public var backend: LedgerBackend { .postgres }
    public var location: String { target.printable }

    public func runStatement(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try send(sql, values).metadata.rows ?? 0
    }

    public func queryRows<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row] {
        try send(sql, values).rows.map { try row(try PostgresRowReader($0)) }
    }

    public func queryFirstRow<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> Row? {
        try send(sql, values).rows.first.map { try row(try PostgresRowReader($0)) }
    }

    /// Each statement of a migration on its own: the extended protocol takes one at a time.
    public func execute(_ sql: String) throws {
        for statement in PlaceholderTranslation.statements(sql) { try plain(statement) }
    }

    public func transaction<T>(retrying: Bool, _ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "ledger transactions do not nest")
        var attempt = 0
        while true {
            attempt += 1
            var commitSent = false
            do {
                try plain("BEGIN")
                inTransaction = true
                defer { inTransaction = false }
                let result: T
                do {
                    result = try body()
                } catch {
                    try? plain("ROLLBACK")
                    throw error
                }
                commitSent = true
                try plain("COMMIT")
                return result
            } catch let failure as PostgresFailure where failure.isTransient && retrying && !commitSent
                        && attempt < Self.transactionAttemptsMax {
                // Bounded: the loop ends at transactionAttemptsMax. The rollback above ended
                // the failed attempt; a lost connection is reopened by the next BEGIN.
                usleep(Self.retryDelayMillisecondsStep * UInt32(attempt) * 1000)
            } catch let failure as PostgresFailure where failure.isConnectionLoss && commitSent {
                throw PostgresFailure(sqlState: nil, message: "the connection to PostgreSQL at \(target.printable) was lost while a change was committing; it may or may not have been applied: look before you repeat it (a batch with an idempotency key is safe to repeat)", sql: nil, isConnectionLoss: true)
            }
        }
    }

    public func rolledBack<T>(_ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "ledger transactions do not nest")
        try plain("BEGIN")
        inTransaction = true
        defer {
            inTransaction = false
            try? plain("ROLLBACK")
        }
        return try body()
    }

    public var lastInsertRowID: Int64 {
        get throws {
            guard let id = try queryFirstRow("SELECT lastval()", [], row: { $0.optionalInt64(0) }) ?? nil else {
                throw StoredValueError(column: "lastval()", value: "no row id")
            }
            return id
        }
    }

    public func lockTenant(_ tenant: TenantID) throws {
        precondition(inTransaction, "a tenant is locked for the transaction it writes in")
        // NO KEY UPDATE: it waits for the tenant's other writers, but not for rows that merely
        // reference the tenant (an event's insert takes KEY SHARE).
        _ = try runStatement("SELECT id FROM tenants WHERE id = ? FOR NO KEY UPDATE", [.integer(tenant.rawValue)])
    }

    public func lockSchema() throws {
        precondition(inTransaction, "the schema is locked for the migration's transaction")
        // Two nodes starting on a new database at once: one migrates, the other then finds it done.
        try plain("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
    }

    /// An advisory lock key of its own (the text "allot" in ASCII).
    static let migrationLockKey: Int64 = 0x616C_6C6F_74

    public func schemaVersion() throws -> Int {
        let exists = try queryFirstRow("SELECT to_regclass('allot_schema_version') IS NOT NULL", []) { $0.bool(0) } ?? false
        guard exists else { return 0 }
        return try queryFirstRow("SELECT version FROM allot_schema_version", []) { $0.int(0) } ?? 0
    }

    public func setSchemaVersion(_ version: Int) throws {
        try plain("CREATE TABLE IF NOT EXISTS allot_schema_version (version BIGINT NOT NULL)")
        try plain("DELETE FROM allot_schema_version")
        _ = try runStatement("INSERT INTO allot_schema_version (version) VALUES (?)", [.integer(Int64(version))])
    }
}

/// A PostgreSQL row read as the Ledger reads SQLite's: integers, booleans (0 or 1), text and
/// bytes, each convertible to the others as SQLite converts them. Every cell is decoded when
/// the row is read, so a value that cannot be decoded throws with its column's name
/// (`StoredValueError`) instead of reading as 0 or "".
struct PostgresRowReader: SQLRow {
    private enum Cell {
        case null
        case integer(Int64)
        case text(String)
        case bytes([UInt8])
    }
    private let cells: [Cell]

    init(_ row: PostgresRow) throws {
        cells = try row.map { cell in
            guard let bytes = cell.bytes else { return .null }
            func unreadable() -> StoredValueError {
                StoredValueError(column: cell.columnName, value: "\(bytes.readableBytes) bytes of type \(cell.dataType)")
            }
            switch cell.dataType {
            case .bool:
                guard let value = try? cell.decode(Bool.self) else { throw unreadable() }
                return .integer(value ? 1 : 0)
            case .int2, .int4, .int8:
                guard let value = try? cell.decode(Int64.self) else { throw unreadable() }
                return .integer(value)
            case .numeric:
                // count(*) and sums: whole numbers within Int64, else not a value this ledger writes.
                guard let value = try? cell.decode(Decimal.self), let whole = Int64(exactly: NSDecimalNumber(decimal: value).doubleValue) else {
                    throw unreadable()
                }
                return .integer(whole)
            case .bytea:
                return .bytes(Array(bytes.readableBytesView))
            case .text, .varchar, .bpchar, .name, .json, .jsonb:
                guard let value = try? cell.decode(String.self) else { throw unreadable() }
                return .text(value)
            default:
                // postgres-nio would read any bytes as text; a type the ledger never writes
                // (a float, a timestamp) is not a value to guess at.
                throw unreadable()
            }
        }
    }

    private func cell(_ column: Int32) -> Cell {
        precondition(Int(column) < cells.count, "column \(column) of a row of \(cells.count) columns: the SELECT and its reader disagree")
        return cells[Int(column)]
    }

    func isNull(_ column: Int32) -> Bool {
        if case .null = cell(column) { return true }
        return false
    }

    func int64(_ column: Int32) -> Int64 {
        switch cell(column) {
        case .null: return 0
        case .integer(let value): return value
        // As SQLite reads a number from text: the leading digits, 0 when there are none.
        case .text(let text): return Int64(text) ?? 0
        case .bytes(let bytes): return Int64(String(decoding: bytes, as: UTF8.self)) ?? 0
        }
    }

    func string(_ column: Int32) -> String {
        switch cell(column) {
        case .null: return ""
        case .integer(let value): return String(value)
        case .text(let text): return text
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        }
    }

    func blob(_ column: Int32) -> [UInt8]? {
        switch cell(column) {
        case .null: return nil
        case .integer(let value): return Array(String(value).utf8)
        case .text(let text): return Array(text.utf8)
        case .bytes(let bytes): return bytes
        }
    }
}
