import AllotStore
import Foundation
import PostgresTestCluster
import Testing

/// The two engines every ledger suite runs on, with the same assertions.
enum TestBackend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL when `TestPostgres` found one (else its cases are skipped,
    /// and the reason printed once).
    static let all: [TestBackend] = TestPostgres.server != nil ? [.sqlite, .postgres] : [.sqlite]
    var testDescription: String { rawValue }
}

/// A PostgreSQL server for the tests: `ALLOT_TEST_POSTGRES_URL` when set (CI's `.ci/run` sets
/// it), else a throw-away cluster started once for this test process when the PostgreSQL
/// binaries are installed, stopped when the process exits. Every test gets a fresh database.
enum TestPostgres {
    static let environmentVariable = "ALLOT_TEST_POSTGRES_URL"
    /// Connections the throw-away cluster allows: the concurrency suites open many at once.
    static let connectionsMax = 400

    /// The server's location (its `postgres` database), or nil with the reason printed.
    static let server: PostgresLocation? = {
        do {
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                guard case .postgres(let location) = try LedgerLocation(parsing: url) else {
                    throw TestPostgresError("\(environmentVariable) is not a postgres:// URL")
                }
                return location
            }
            guard let bin = ThrowAwayPostgres.binaries(with: "initdb") else { throw TestPostgresError("no PostgreSQL binaries (initdb) were found") }
            let cluster = try ThrowAwayPostgres.start(binaries: bin, label: "test", connectionsMax: connectionsMax)
            return PostgresLocation(host: "127.0.0.1", port: cluster.port, user: cluster.user, database: "postgres")
        } catch {
            FileHandle.standardError.write(Data("note: the PostgreSQL cases of the ledger suites are skipped: \(error); set \(environmentVariable) or install PostgreSQL (apt-get install -y postgresql) to run them\n".utf8))
            return nil
        }
    }()

    /// A new, empty database on the server, for one test.
    static func freshDatabase(_ label: String) throws -> PostgresLocation {
        guard let server else { throw TestPostgresError("no PostgreSQL server for the tests") }
        let name = "allot_" + label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30) + "_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresLedgerDatabase(server)
        try admin.execute("CREATE DATABASE \(name)")
        return server.with(database: name)
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
