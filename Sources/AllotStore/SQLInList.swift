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
    static func placeholders(count: Int, first: Int) -> String {
        (first..<(first + size(for: count))).map { "?\($0)" }.joined(separator: ", ")
    }

    /// The values padded with NULL to the size `placeholders` gave them.
    static func padded(_ values: some Collection<SQLValue>) -> [SQLValue] {
        Array(values) + [SQLValue](repeating: .null, count: size(for: values.count) - values.count)
    }

    static func size(for count: Int) -> Int {
        precondition(count > 0 && count <= valuesMax, "an IN list holds 1 to \(valuesMax) values, not \(count)")
        guard let size = sizes.first(where: { $0 >= count }) else { preconditionFailure("the largest size is valuesMax") }
        return size
    }
}
