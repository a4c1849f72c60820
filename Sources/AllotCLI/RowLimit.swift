import ArgumentParser

/// `--limit N` and `--all` of a table that shows its first rows (`queue list`, `assign` and
/// `revoke`'s failed items, `devices import`'s rejected lines): a list that is cut says how many
/// rows it left out and how to see them, and the rest can be seen without switching to `--json`.
/// One group of options and one rule (`RowLimit`) for every such table.
struct RowLimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Rows of the table (default \(TextLimits.rowsShown), at most \(Text.count(RowLimit.rowsMax))); the JSON output is never cut by it.", valueName: "n"))
    var limit: Int?
    @Flag(help: "Every row in the table.")
    var all = false

    func validate() throws { try RowLimit.validate(limit: limit, all: all) }

    /// The rows to show of `count`.
    func shown(of count: Int) -> Int { RowLimit.shown(limit: limit, all: all, of: count) }
}

/// The rule of a cut table, for `RowLimitOptions` and for `sync`, whose `--all` already means
/// every tenant (there `--limit N` alone).
enum RowLimit {
    /// Rows `--limit` may ask for: a queue holds at most 100,000 devices per tenant, a batch's
    /// JSON lists at most 100,000 failed items.
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

    /// The line under a cut table: `… and 3 more failed; --all lists every one.`
    static func rest(_ left: Int, _ what: String = "", seeAll: String = "--all lists every one") -> String {
        precondition(left > 0, "a table says what it left out only when it left something out")
        return "… and \(Text.count(left)) more\(what); \(seeAll)."
    }
}
