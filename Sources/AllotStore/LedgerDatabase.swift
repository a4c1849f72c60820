import AllotCore

/// A row being read, columns from 0: what the Ledger reads, whichever database answered.
/// SQLite's `Statement` is one; PostgreSQL's decoded row is the other. A column read as the
/// wrong kind converts the way SQLite does (an integer read as text is its digits), so the
/// same code and the same tests read both.
public protocol SQLRow {
    func int64(_ column: Int32) -> Int64
    func isNull(_ column: Int32) -> Bool
    func string(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]?
}

extension SQLRow {
    public func int(_ column: Int32) -> Int { Int(int64(column)) }
    public func bool(_ column: Int32) -> Bool { int64(column) != 0 }
    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
}

/// Which engine holds the ledger.
public enum LedgerBackend: String, Sendable {
    case sqlite
    case postgres
}

/// The ledger's database, SQLite or PostgreSQL: the one surface every Ledger method talks to,
/// so each rule is written once in portable SQL and runs on both. Placeholders are `?` or
/// `?N` (PostgreSQL's `$N` is made from them); integers bind as `.integer`, text as `.text`.
/// Not Sendable: it lives behind one serialising owner (the engine's actor).
public protocol LedgerDatabase: AnyObject {
    var backend: LedgerBackend { get }
    /// The file path, or the URL without its password: safe to print.
    var location: String { get }

    /// Runs a statement with bound values; the number of rows it changed (`run`).
    func runStatement(_ sql: String, _ values: [SQLValue]) throws -> Int
    /// Runs a query with bound values and maps every row (`query`).
    func queryRows<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row]
    /// The first row of a query, or nil (`queryFirst`).
    func queryFirstRow<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> Row?
    /// Runs several statements with no bindings (a migration).
    func execute(_ sql: String) throws

    /// Runs `body` in one write transaction: committed if it returns, rolled back if it throws.
    /// With `retrying`, a transient failure (PostgreSQL: serialization failure, deadlock, a
    /// dropped connection before the commit was sent) runs `body` again, a bounded number of
    /// times: such a body must start from scratch each time (keep no state across attempts).
    func transaction<T>(retrying: Bool, _ body: () throws -> T) throws -> T
    /// Runs `body` in a write transaction that is always rolled back: a dry run.
    func rolledBack<T>(_ body: () throws -> T) throws -> T

    /// The id of the last row inserted with a generated id on this connection.
    var lastInsertRowID: Int64 { get throws }

    /// Holds off every other writer of this tenant's pools, assignments and batches until the
    /// transaction ends. SQLite's one writer (BEGIN IMMEDIATE) already does; PostgreSQL locks
    /// the tenant's row, so nodes deciding batches for one tenant take turns (a decision reads
    /// the pool counts it then moves) while other tenants go on in parallel.
    func lockTenant(_ tenant: TenantID) throws

    /// Holds off another process migrating the same database until the transaction ends.
    func lockSchema() throws
    /// The schema version recorded in the database (0 when none).
    func schemaVersion() throws -> Int
    /// Records the schema version, inside the migration's transaction.
    func setSchemaVersion(_ version: Int) throws
}

extension LedgerDatabase {
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws -> Int { try runStatement(sql, values) }

    public func query<Row>(_ sql: String, _ values: [SQLValue] = [], row: (any SQLRow) throws -> Row) throws -> [Row] {
        try queryRows(sql, values, row: row)
    }

    public func queryFirst<Row>(_ sql: String, _ values: [SQLValue] = [], row: (any SQLRow) throws -> Row) throws -> Row? {
        try queryFirstRow(sql, values, row: row)
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(retrying: true, body) }
}
