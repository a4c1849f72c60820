import Allot
import AllotStore
import AllotViews
import ArgumentParser
import DedicatedThread
import Foundation

/// `allot db`: the ledger's database itself.
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The ledger's database: move a SQLite ledger into PostgreSQL.",
        subcommands: [DbCopyCommand.self]
    )
}

/// `allot db copy --from PATH --to URL`: every row of a SQLite ledger into an empty PostgreSQL
/// database, in one transaction, then verified (rows per table, pool counters).
struct DbCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite ledger into an empty PostgreSQL database, then verify the copy.",
        discussion: "The token key stays the same: run the PostgreSQL nodes with ALLOT_SECRET_KEY (or --key-file) set to the key that encrypted the SQLite ledger's tokens (the bytes of its .key file, in Base64)."
    )
    @Option(help: ArgumentHelp("The SQLite ledger to copy (default: --db); it is brought to this allot's schema version first.", valueName: "path"))
    var from: String?
    @Option(help: ArgumentHelp("The empty PostgreSQL database: postgres://user@host:port/database.", valueName: "url"))
    var to: String

    var source: String { from ?? global.databasePath }
    @OptionGroup(title: "Global options") var global: GlobalOptions

    func validate() throws {
        let from = source
        guard !from.isEmpty, !LedgerLocation.isPostgresURL(from) else { throw ValidationError("--from names the SQLite ledger file to copy") }
        guard LedgerLocation.isPostgresURL(to) else { throw ValidationError("--to must be a postgres://user@host:port/database URL") }
        do { _ = try LedgerLocation(parsing: to) } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        guard case .postgres(let target) = try LedgerLocation(parsing: to) else { preconditionFailure("validate() checked --to") }
        let from = source
        // The ledgers are synchronous (PostgreSQL's answers are waited for): off the pool.
        let report = try await onAThreadOfItsOwn(named: "allot-db-copy") {
            let ledger = try Ledger(path: from, create: false)
            guard let sqlite = ledger.sqlite else { preconditionFailure("a ledger opened from a path is SQLite") }
            // Migrations only (no Ledger): a refused target must be left exactly as it was.
            let postgres = try PostgresLedgerDatabase(target)
            try Migrations.apply(to: postgres)
            return try LedgerCopy.copy(from: sqlite, to: postgres)
        }
        if global.json {
            try JSONOutput.emit(LedgerCopyView(from: from, to: target.printable, report: report))
            return
        }
        let total = report.rows.values.reduce(0, +)
        let tables = report.rows.sorted { $0.key < $1.key }.filter { $0.value > 0 }.map { "\($0.key) \(Text.count($0.value))" }
        Standard.output("Copied \(Text.count(total, "row")) from \(Text.printable(from)) to \(target.printable) and verified them" +
                        (tables.isEmpty ? "." : ": \(tables.joined(separator: ", "))."))
    }
}
