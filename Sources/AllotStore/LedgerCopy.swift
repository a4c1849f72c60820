import AllotCore

/// `allot db copy`: an existing SQLite ledger into an empty PostgreSQL one, in one transaction,
/// then verified by the rows of every table and the pool counters.
public enum LedgerCopy {
    /// Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement.
    static let parametersPerStatementMax = 60_000
    static let rowsPerStatementMax = 1_000

    public struct Report: Sendable, Hashable, Codable {
        /// Rows copied, by table.
        public let rows: [String: Int]
    }

    /// Copies every table of `source` into `target`. Both are at the latest schema version (the
    /// Ledgers that opened them migrated them); a target with any row is refused, unchanged.
    public static func copy(from source: Database, to target: PostgresLedgerDatabase) throws -> Report {
        let tables = try tablesInDependencyOrder(source)
        for table in tables where try count(table, in: target) > 0 {
            throw AllotError.conflict("the PostgreSQL database \(target.location) already holds a ledger (table \(table) has rows); copy into an empty database")
        }
        var rows: [String: Int] = [:]
        try target.transaction(retrying: false) {
            for table in tables {
                rows[table] = try copyTable(table, from: source, to: target)
            }
            // Ids were copied as they were: the identity columns continue after the largest.
            for table in tables where try hasIdentityId(table, in: target) {
                try target.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), coalesce((SELECT max(id) FROM \(table)), 0) + 1, false)")
            }
        }
        try verify(tables: tables, source: source, target: target, copied: rows)
        return Report(rows: rows)
    }

    /// The ledger's tables, each after the tables it references (SQLite's own list, so tables
    /// added by later migrations are copied too).
    static func tablesInDependencyOrder(_ source: Database) throws -> [String] {
        let names = try source.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") { $0.string(0) }
        var references: [String: Set<String>] = [:]
        for name in names {
            references[name] = Set(try source.query("SELECT \"table\" FROM pragma_foreign_key_list(?)", [.text(name)]) { $0.string(0) })
                .subtracting([name])
        }
        var ordered: [String] = []
        var remaining = names
        // Bounded: each pass places at least one table, or the schema has a cycle.
        while !remaining.isEmpty {
            let ready = remaining.filter { references[$0, default: []].isSubset(of: Set(ordered)) }
            precondition(!ready.isEmpty, "the ledger's tables reference each other in a cycle: \(remaining)")
            ordered += ready
            remaining.removeAll { ready.contains($0) }
        }
        return ordered
    }

    private static func copyTable(_ table: String, from source: Database, to target: PostgresLedgerDatabase) throws -> Int {
        let columns = try source.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table)]) { $0.string(0) }
        precondition(!columns.isEmpty, "table \(table) has columns")
        let columnList = columns.joined(separator: ", ")
        let rowsPerStatement = min(rowsPerStatementMax, parametersPerStatementMax / columns.count)
        var pending: [SQLValue] = []
        var copied = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            let rowCount = pending.count / columns.count
            let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            let inserted = try target.run("INSERT INTO \(table) (\(columnList)) VALUES " + Array(repeating: row, count: rowCount).joined(separator: ", "), pending)
            precondition(inserted == rowCount, "an INSERT of \(rowCount) rows into \(table) inserted \(inserted)")
            copied += inserted
            pending.removeAll(keepingCapacity: true)
        }
        let statement = try source.statement("SELECT \(columnList) FROM \(table)")
        defer { statement.reset() }
        while try statement.step() {
            for column in 0..<columns.count { pending.append(statement.value(Int32(column))) }
            if pending.count / columns.count == rowsPerStatement { try flush() }
        }
        try flush()
        return copied
    }

    private static func count(_ table: String, in database: any LedgerDatabase) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM \(table)") { $0.int(0) } ?? 0
    }

    private static func hasIdentityId(_ table: String, in target: PostgresLedgerDatabase) throws -> Bool {
        try target.queryFirst("""
            SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = 'id' AND is_identity = 'YES'
            """, [.text(table)]) { $0.int(0) } == 1
    }

    /// The same rows in every table, and every pool's counter equal to its assignment rows.
    private static func verify(tables: [String], source: Database, target: PostgresLedgerDatabase, copied: [String: Int]) throws {
        for table in tables {
            let (before, after) = (try count(table, in: source), try count(table, in: target))
            guard before == after, copied[table] == after else {
                throw AllotError.conflict("the copy of table \(table) holds \(after) rows where the SQLite ledger holds \(before); the copy is not complete, drop the PostgreSQL database and copy again")
            }
        }
        let drifting = try count("pool p WHERE p.assigned_here <> (SELECT count(*) FROM assignments a WHERE a.token_id = p.token_id AND a.asset_id = p.asset_id) + (SELECT count(*) FROM user_assignments u WHERE u.token_id = p.token_id AND u.asset_id = p.asset_id)", in: target)
        guard drifting == 0 else {
            throw AllotError.conflict("after the copy \(drifting) pools count other than their assignment rows; the SQLite ledger was not consistent: check it before you copy")
        }
    }
}
