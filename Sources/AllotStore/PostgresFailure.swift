import PostgresNIO

/// An operational PostgreSQL failure: the SQLSTATE, the server's message and the SQL. Never the
/// bound values, and never the connection's password: postgres-nio's own error keeps the query
/// with its binds, so it is translated here and not passed on.
public struct PostgresFailure: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE, when the server answered.
    public let sqlState: String?
    public let message: String
    public let sql: String?
    /// The connection went away (server restarted, network, client closed).
    public let isConnectionLoss: Bool

    public init(sqlState: String?, message: String, sql: String?, isConnectionLoss: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
        self.isConnectionLoss = isConnectionLoss
    }

    static let lost = PostgresFailure(sqlState: nil, message: "the connection to PostgreSQL was lost", sql: nil, isConnectionLoss: true)

    /// SQLSTATEs worth running the transaction again for: serialization failure, deadlock, and
    /// the server shutting down or restarting (class 57P: admin shutdown, crash shutdown, cannot
    /// connect now).
    static let transientStates: Set<String> = ["40001", "40P01", "57P01", "57P02", "57P03"]
    public static let uniqueViolation = "23505"

    /// Worth trying the whole transaction again.
    public var isTransient: Bool { isConnectionLoss || sqlState.map(Self.transientStates.contains) == true }
    public var isConstraint: Bool { sqlState?.hasPrefix("23") == true }

    /// postgres-nio's error as ours, or nil when `error` is not one of its.
    init?(_ error: any Error, sql: String?, connecting target: PostgresLocation? = nil) {
        if let failure = error as? PostgresFailure {
            self = failure
            return
        }
        guard let error = error as? PSQLError else {
            // NIO's own (a refused TCP connection, a timeout): the server cannot be reached.
            guard let target else { return nil }
            self.init(sqlState: nil, message: "cannot reach PostgreSQL at \(target.printable): \(type(of: error)); check that the server runs and the ledger URL", sql: nil, isConnectionLoss: true)
            return
        }
        let state = error.serverInfo?[.sqlState]
        let lost = [PSQLError.Code.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code)
        var message = error.serverInfo?[.message] ?? (lost ? "the connection to PostgreSQL was lost" : "postgres-nio failed: \(error.code)")
        if let target {
            message = lost ? "cannot reach PostgreSQL at \(target.printable); check that the server runs and the ledger URL" : "PostgreSQL at \(target.printable) refused the connection: \(message)"
        }
        self.init(sqlState: state, message: message, sql: sql, isConnectionLoss: lost || state?.hasPrefix("57P") == true || state?.hasPrefix("08") == true)
    }

    public var description: String {
        "PostgreSQL error" + (sqlState.map { " \($0)" } ?? "") + ": \(message)" + (sql.map { " (in: \($0.prefix(120)))" } ?? "")
    }
}
