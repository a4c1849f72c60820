import AllotCore

// The outbox's states and kinds, and the token states, in SQL, spelled from their Swift types: a
// rule written in Swift (`OutboxState.isUnfinished`, `TokenState.isUsable`) is never written
// again by hand in a query, and `OutboxSQLTests` checks on every value that the SQL and the
// Swift agree.

extension OutboxState {
    /// The state as a SQL literal (`'pending'`); the raw values are plain words, never quoted.
    public var sql: String { "'\(rawValue)'" }

    /// `(…)`: the states `isUnfinished` holds for, for `state IN \(…)`.
    public static let unfinishedSQL = list(allCases.filter(\.isUnfinished))

    /// `(…)`: the states Apple's next step is due from (a send or a poll), for `state IN \(…)`.
    public static let activeSQL = list(allCases.filter(\.meetsApple))

    private static func list(_ states: [OutboxState]) -> String {
        precondition(!states.isEmpty, "a SQL list of states holds at least one")
        return "(" + states.map(\.sql).joined(separator: ", ") + ")"
    }
}

extension OutboxKind {
    public var sql: String { "'\(rawValue)'" }
}

extension TokenState {
    public var sql: String { "'\(rawValue)'" }

    /// `(…)`: the states `isScheduled` holds for, for `state IN \(…)`.
    public static let scheduledSQL = "(" + allCases.filter(\.isScheduled).map(\.sql).joined(separator: ", ") + ")"

    /// `TokenState.isUsable` as a SQL condition on the columns (or placeholders) named.
    public static func usableSQL(state: String, expiresAt: String, now: String) -> String {
        let supplying = allCases.filter(\.suppliesNewAssignments).map(\.sql).joined(separator: ", ")
        precondition(!supplying.isEmpty, "some token state supplies new assignments")
        return "(\(state) IN (\(supplying)) AND \(expiresAt) > \(now))"
    }
}
