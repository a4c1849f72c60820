import Foundation

/// A PostgreSQL server for the suites that run allot whole (the CLI's, the engine's), found as
/// the store tests find theirs (Tests/AllotStoreTests/TestPostgres.swift):
/// `ALLOT_TEST_POSTGRES_URL` when set, else a throw-away cluster (`ThrowAwayPostgres`) when the
/// binaries are installed, else nil with a note printed. Databases are made and dropped with
/// `psql`, so this target needs none of allot's modules.
public struct PostgresTestServer: Sendable {
    public static let environmentVariable = "ALLOT_TEST_POSTGRES_URL"
    /// Connections the throw-away cluster allows: two nodes and their clients.
    public static let connectionsMax = 200

    public let host: String
    public let port: Int
    public let user: String
    public let psql: String

    public static let server: PostgresTestServer? = {
        do {
            guard let bin = ThrowAwayPostgres.binaries(with: "psql") else {
                throw PostgresTestServerError("no PostgreSQL binaries (psql) were found")
            }
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql", let host = parts.host else {
                    throw PostgresTestServerError("\(environmentVariable) is not a postgres:// URL")
                }
                return PostgresTestServer(host: host, port: parts.port ?? 5432, user: parts.user ?? "postgres", psql: bin + "/psql")
            }
            let cluster = try ThrowAwayPostgres.start(binaries: bin, label: "cli", connectionsMax: connectionsMax)
            return PostgresTestServer(host: "127.0.0.1", port: cluster.port, user: cluster.user, psql: bin + "/psql")
        } catch {
            FileHandle.standardError.write(Data("note: the PostgreSQL cases of the CLI and engine suites are skipped: \(error); set \(environmentVariable) or install PostgreSQL (apt-get install -y postgresql) to run them\n".utf8))
            return nil
        }
    }()

    public func url(_ database: String) -> String { "postgres://\(user)@\(host):\(port)/\(database)" }

    public func createDatabase(_ label: String) throws -> String {
        let name = "allot_\(label)_" + UUID().uuidString.prefix(8).lowercased()
        try ThrowAwayPostgres.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"], asUser: nil)
        return name
    }

    /// Best effort: the nodes are gone, so FORCE only ends what they left behind.
    public func dropDatabase(_ name: String) {
        try? ThrowAwayPostgres.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], asUser: nil)
    }
}

public struct PostgresTestServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
