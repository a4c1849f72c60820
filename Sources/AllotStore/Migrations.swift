/// Applies the migrations of `schema/` (SQLite) or `schema/postgres/` (PostgreSQL), compiled
/// in by the EmbedSchema plugin, in order, recording the version in the database.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// Every SQLite migration, in order. File names start with their version: `001_ledger.sql`.
    public static let all: [Migration] = migrations(embeddedMigrations, folder: "schema")
    /// Every PostgreSQL migration, in order: the same numbers and names as SQLite's.
    public static let postgres: [Migration] = migrations(embeddedPostgresMigrations, folder: "schema/postgres")

    public static var latestVersion: Int { all.last?.version ?? 0 }

    public static func migrations(for backend: LedgerBackend) -> [Migration] {
        switch backend {
        case .sqlite: all
        case .postgres: postgres
        }
    }

    private static func migrations(_ files: [(name: String, sql: String)], folder: String) -> [Migration] {
        let migrations = files.map { file in
            guard let version = Int(file.name.prefix { $0.isNumber }), version > 0 else {
                preconditionFailure("\(folder)/\(file.name) must start with its version number, e.g. 001_")
            }
            return Migration(version: version, name: file.name, sql: file.sql)
        }
        for (offset, migration) in migrations.enumerated() {
            precondition(migration.version == offset + 1, "\(folder)/ migrations must be numbered 1, 2, 3… without gaps")
        }
        return migrations
    }

    /// Brings the database to the latest version; refuses one newer than this code.
    public static func apply(to database: any LedgerDatabase) throws {
        let migrations = migrations(for: database.backend)
        precondition(migrations.map(\.name) == all.map(\.name), "schema/postgres/ must hold a twin of every schema/ migration, with the same name")
        let latest = migrations.last?.version ?? 0
        let current = try database.schemaVersion()
        if current > latest {
            throw StoreError.schemaTooNew(path: database.location, found: current, known: latest)
        }
        for migration in migrations where migration.version > current {
            try database.transaction(retrying: false) {
                try database.lockSchema()
                // Asked again under the lock: another process may have applied it meanwhile.
                guard try database.schemaVersion() < migration.version else { return }
                try database.execute(migration.sql)
                try database.setSchemaVersion(migration.version)
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
