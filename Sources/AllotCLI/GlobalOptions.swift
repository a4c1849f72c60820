import Allot
import AllotStore
import AppleAppsAndBooks
import AppleServiceFactory
import ArgumentParser
import Foundation

/// The options every command takes (DESIGN.md, "CLI contract": Global).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger: a SQLite file, or postgres://user@host:port/database (default: $ALLOT_DB, else ./allot.sqlite).", valueName: "path-or-url"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("A file holding the key that encrypts token files (32 bytes, raw or Base64); default: $ALLOT_SECRET_KEY, else the .key file beside a SQLite ledger.", valueName: "path"))
    var keyFile: String?

    @Option(name: .long, help: ArgumentHelp("Apple's service: sim:PATH for the built-in simulator with its state in PATH, or an https:// URL (default: $ALLOT_APPLE).", valueName: "spec"))
    var apple: String?

    @Flag(name: .long, help: "Print exactly one JSON object on stdout.")
    var json = false

    static let defaultDatabasePath = "./allot.sqlite"

    /// The engine this command opened, for advice after a refusal (`CLIAdvice.learn`). One
    /// command opens one engine; set before any work, read after the command returned.
    nonisolated(unsafe) static var openedEngine: Allot?

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["ALLOT_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDatabasePath
    }

    /// The Apple service asked for, if any; `validate()` has checked that it parses.
    var appleSpec: AppleServiceSpec? {
        guard let text = apple ?? ProcessInfo.processInfo.environment["ALLOT_APPLE"], !text.isEmpty else { return nil }
        return try? AppleServiceSpec(parsing: text)
    }

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db needs a file path or a postgres:// URL") }
        if let keyFile, keyFile.isEmpty { throw ValidationError("--key-file needs a file path") }
        if LedgerLocation.isPostgresURL(databasePath) {
            // The sentence never repeats the URL: it may hold a password.
            do { _ = try LedgerLocation(parsing: databasePath) } catch { throw ValidationError("\(error)") }
        }
        if let text = apple ?? ProcessInfo.processInfo.environment["ALLOT_APPLE"], !text.isEmpty {
            do { _ = try AppleServiceSpec(parsing: text) } catch { throw ValidationError(error.description) }
        }
    }

    /// Opens the engine on the ledger, with Apple's service when one is configured. Commands
    /// that need Apple without one are refused by the engine. Only commands that create things
    /// (`tenant create`, `serve`) may create the database: elsewhere a mistyped `--db` is
    /// refused instead of leaving an empty ledger behind.
    func openEngine(creatingDatabase: Bool = false, settings: EngineSettings = EngineSettings()) async throws -> Allot {
        let path = databasePath
        var service: (any AppsAndBooksService)?
        if let spec = appleSpec { service = try makeAppleService(spec: spec) }
        if LedgerLocation.isPostgresURL(path) {
            // The key is resolved now, not at the first token: a node without it stops at
            // start with one sentence instead of failing later, or storing a token it cannot read.
            let secrets = try SecretBox.load(databasePath: path, keyFile: keyFile)
            let allot = try Allot(databasePath: path, apple: service, secrets: secrets, settings: settings, createDatabase: creatingDatabase)
            Self.openedEngine = allot
            try await allot.checkTokenKey(keyFile: keyFile)
            return allot
        }
        guard creatingDatabase || FileManager.default.fileExists(atPath: path) else {
            throw CLIError("there is no database at '\(Text.printable(path))'; check --db (or $ALLOT_DB), or start one with `allot tenant create`")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw CLIError("--db '\(Text.printable(path))' is a folder; name the database file inside it, e.g. \(Text.printable(path))/allot.sqlite")
        }
        let secrets = try keyFile.map { try SecretBox.load(databasePath: path, keyFile: $0) }
        let allot = try Allot(databasePath: path, apple: service, secrets: secrets, settings: settings, createDatabase: creatingDatabase)
        Self.openedEngine = allot
        // Before any work: a node with another token key would commit what it cannot deliver.
        try await allot.checkTokenKey(keyFile: keyFile)
        return allot
    }
}

/// The `--tenant SLUG` option of the tenant-scoped commands.
struct TenantOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The tenant's slug.", valueName: "slug"))
    var tenant: String

    func validate() throws { try Self.validate(tenant) }

    static func validate(_ tenant: String) throws {
        guard Ledger.isValidSlug(tenant) else {
            throw ValidationError("--tenant '\(tenant)' is not a tenant slug; slugs are lowercase letters, digits and dashes")
        }
    }
}
