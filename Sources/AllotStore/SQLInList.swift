import Synchronization

/// A list of values bound into `IN (…)`, so that a list costs one statement and not one per
/// value (the outbox confirms up to 1,000 serials a call; one UPDATE per serial was a call's
/// largest ledger cost). The SQL text comes in a few sizes (1, 10, 100, 1,000 places) with the
/// unused places bound to NULL, which `IN` never matches: the statement cache then holds four
/// texts per statement, not one per list length. Portable: SQLite and PostgreSQL both take
/// 1,000 parameters in one statement (their limits are 32,766 and 65,535).
enum SQLInList {
    static let sizes = [1, 10, 100, 1_000]
    /// The most values one statement carries.
    static let valuesMax = 1_000

    /// The values cut into lists of at most `valuesMax`.
    static func chunks<Value>(_ values: [Value]) -> [ArraySlice<Value>] {
        stride(from: 0, to: values.count, by: valuesMax).map { values[$0..<min($0 + valuesMax, values.count)] }
    }

    /// The places for `count` values, numbered from `first` ("?5, ?6, …"), padded to a size.
    /// Made once per (size, first) and kept: building the 1,000 places of a confirm each time
    /// was 4% of delivery's CPU (perf, release, 1,000 tokens).
    static func placeholders(count: Int, first: Int) -> String {
        let size = size(for: count)
        let key = PlaceholdersKey(size: size, first: first)
        if let made = madePlaceholders.withLock({ $0[key] }) { return made }
        let text = (first..<(first + size)).map { "?\($0)" }.joined(separator: ", ")
        madePlaceholders.withLock { $0[key] = text }
        return text
    }

    private struct PlaceholdersKey: Hashable {
        let size: Int
        let first: Int
    }

    /// A few texts: four sizes times the handful of statements that use a list.
    private static let madePlaceholders = Mutex<[PlaceholdersKey: String]>([:])

    /// The values padded with NULL to the size `placeholders` gave them: `IN` never matches NULL.
    static func padded(_ values: some Collection<SQLValue>) -> [SQLValue] {
        padded(values, with: .null)
    }

    /// The values padded to the size `placeholders` gave them with `filler`, for a `NOT IN`
    /// list, where a NULL would make every row's test unknown: repeat one of the values.
    static func padded(_ values: some Collection<SQLValue>, with filler: SQLValue) -> [SQLValue] {
        Array(values) + [SQLValue](repeating: filler, count: size(for: values.count) - values.count)
    }

    static func size(for count: Int) -> Int {
        precondition(count > 0 && count <= valuesMax, "an IN list holds 1 to \(valuesMax) values, not \(count)")
        guard let size = sizes.first(where: { $0 >= count }) else { preconditionFailure("the largest size is valuesMax") }
        return size
    }
}
