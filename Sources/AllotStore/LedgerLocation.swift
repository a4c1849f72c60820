import AllotCore
import Foundation

/// What `--db` (or `ALLOT_DB`) names: a SQLite file path, or a PostgreSQL URL
/// `postgres://user[:password]@host[:port]/database`.
public enum LedgerLocation: Sendable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Whether `--db` names a PostgreSQL database (which has no folder for files beside it).
    public static func isPostgresURL(_ text: String) -> Bool { PostgresLocation.isURL(text) }

    public init(parsing text: String) throws {
        guard PostgresLocation.isURL(text) else {
            self = .sqlite(path: text)
            return
        }
        self = .postgres(try PostgresLocation(url: text))
    }

    /// Safe to print: a PostgreSQL URL without its password.
    public var printable: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.printable
        }
    }
}

/// Where a PostgreSQL ledger lives. The password is kept for connecting and never printed:
/// `printable` and `description` leave it out.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let user: String
    let password: String?
    public let database: String

    public static let defaultPort = 5432
    static let schemes: Set<String> = ["postgres", "postgresql"]

    static func isURL(_ text: String) -> Bool {
        schemes.contains { text.lowercased().hasPrefix($0 + "://") }
    }

    public init(url text: String) throws {
        // The sentences name the URL's shape, never the text given: it may hold a password.
        let shape = "write it as postgres://user@host:port/database (a password, if any, after user:)"
        guard let components = URLComponents(string: text), let scheme = components.scheme, Self.schemes.contains(scheme.lowercased()) else {
            throw AllotError.invalidInput("the ledger URL is not a PostgreSQL URL; \(shape)")
        }
        guard let host = components.host, !host.isEmpty else { throw AllotError.invalidInput("the ledger URL names no host; \(shape)") }
        guard let user = components.user, !user.isEmpty else { throw AllotError.invalidInput("the ledger URL names no user; \(shape)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw AllotError.invalidInput("the ledger URL names no database; \(shape)") }
        if let items = components.queryItems, !items.isEmpty {
            throw AllotError.invalidInput("the ledger URL has options (\(items.map(\.name).joined(separator: ", "))) that allot does not read; \(shape)")
        }
        self.host = host
        port = components.port ?? Self.defaultPort
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
    }

    public init(host: String, port: Int, user: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// The same server and credentials, another database (tests make one per case).
    public func with(database: String) -> PostgresLocation {
        PostgresLocation(host: host, port: port, user: user, password: password, database: database)
    }

    public var printable: String { "postgres://\(user)@\(host):\(port)/\(database)" }
    public var description: String { printable }
}
