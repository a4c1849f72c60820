/// Applies the migrations of `schema/` (compiled in by the EmbedSchema plugin) in order,
/// recording the version in `PRAGMA user_version`.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// Every migration, in order. File names start with their version: `001_ledger.sql`.
    public static let all: [Migration] = embeddedMigrations.map { file in
        guard let version = Int(file.name.prefix { $0.isNumber }), version > 0 else {
            preconditionFailure("schema/\(file.name) must start with its version number, e.g. 001_")
        }
        return Migration(version: version, name: file.name, sql: file.sql)
    }

    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Brings the database to the latest version; refuses one newer than this code.
    public static func apply(to database: Database) throws {
        for (offset, migration) in all.enumerated() {
            precondition(migration.version == offset + 1, "schema/ migrations must be numbered 1, 2, 3… without gaps")
        }
        let current = try database.queryFirst("PRAGMA user_version") { $0.int(0) } ?? 0
        if current > latestVersion {
            throw StoreError.schemaTooNew(path: database.path, found: current, known: latestVersion)
        }
        for migration in all where migration.version > current {
            try database.transaction {
                try database.execute(migration.sql)
                try database.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}

/// Failures of the store that a person can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case schemaTooNew(path: String, found: Int, known: Int)

    public var description: String {
        switch self {
        case let .schemaTooNew(path, found, known):
            "the database \(path) has schema version \(found) but this allot knows versions up to \(known); upgrade allot, or open another database"
        }
    }
}
