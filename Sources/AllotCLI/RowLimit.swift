import ArgumentParser

/// `--limit N` and `--all` of a table that shows its first rows: a list that is cut says how to
/// see the rest, and the rest can be seen without switching to `--json`.
enum RowLimit {
    /// Rows `--limit` may ask for: a queue holds at most 100,000 devices per tenant.
    static let rowsMax = 100_000

    static func validate(limit: Int?, all: Bool) throws {
        if let limit {
            guard !all else { throw ValidationError("--limit and --all cannot go together; give one") }
            guard (1...rowsMax).contains(limit) else { throw ValidationError("--limit must be 1 to \(Text.count(rowsMax)); --all shows every row") }
        }
    }

    /// The rows to show: all of them, the limit asked, or the first `TextLimits.rowsShown`.
    static func shown(limit: Int?, all: Bool, of count: Int) -> Int {
        all ? count : min(count, limit ?? TextLimits.rowsShown)
    }
}
