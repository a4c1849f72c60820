import Foundation
import PostgresTestCluster
import Testing

/// A PostgreSQL server for the CLI tests, found as the store tests find theirs
/// (Tests/AllotStoreTests/TestPostgres.swift): `ALLOT_TEST_POSTGRES_URL` when set, else a
/// throw-away cluster (`ThrowAwayPostgres`) when the binaries are installed, else nil with a
/// note printed. Databases are made and dropped with `psql`, so this target needs none of
/// allot's modules.
struct CLIPostgres: Sendable {
    static let environmentVariable = "ALLOT_TEST_POSTGRES_URL"
    /// Connections the throw-away cluster allows: two nodes and their clients.
    static let connectionsMax = 200

    let host: String
    let port: Int
    let user: String
    let psql: String

    static let server: CLIPostgres? = {
        do {
            guard let bin = ThrowAwayPostgres.binaries(with: "psql") else {
                throw CLIPostgresError("no PostgreSQL binaries (psql) were found")
            }
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql", let host = parts.host else {
                    throw CLIPostgresError("\(environmentVariable) is not a postgres:// URL")
                }
                return CLIPostgres(host: host, port: parts.port ?? 5432, user: parts.user ?? "postgres", psql: bin + "/psql")
            }
            let cluster = try ThrowAwayPostgres.start(binaries: bin, label: "cli", connectionsMax: connectionsMax)
            return CLIPostgres(host: "127.0.0.1", port: cluster.port, user: cluster.user, psql: bin + "/psql")
        } catch {
            FileHandle.standardError.write(Data("note: the PostgreSQL cases of the CLI suites are skipped: \(error); set \(environmentVariable) or install PostgreSQL (apt-get install -y postgresql) to run them\n".utf8))
            return nil
        }
    }()

    func url(_ database: String) -> String { "postgres://\(user)@\(host):\(port)/\(database)" }

    func createDatabase(_ label: String) throws -> String {
        let name = "allot_cli_\(label)_" + UUID().uuidString.prefix(8).lowercased()
        try ThrowAwayPostgres.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"], asUser: nil)
        return name
    }

    /// Best effort: the nodes are gone, so FORCE only ends what they left behind.
    func dropDatabase(_ name: String) {
        try? ThrowAwayPostgres.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], asUser: nil)
    }
}

struct CLIPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
