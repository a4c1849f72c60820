import AllotCore
import Foundation

/// The ledger, in SQLite or PostgreSQL: one connection, the migrations applied, every call
/// scoped to a tenant. Every method talks to `database` in portable SQL; only the assign and
/// revoke hot path has one implementation per engine (`SQLiteAssignmentLedger`,
/// `PostgresBatchLedger`). Not Sendable: the engine's actor owns it.
public final class Ledger {
    public let database: any LedgerDatabase
    /// The same connection when the ledger is in SQLite (its hot path and its checks), else nil.
    public let sqlite: Database?
    /// The same connection when the ledger is in PostgreSQL, else nil.
    let postgres: PostgresLedgerDatabase?
    /// Seconds since 1970; tests set it to move time.
    public var clock: @Sendable () -> Int64
    /// Told after operations are written to the outbox (inside the transaction that writes
    /// them): the engine's delivery wakes for them instead of waiting for its next look.
    public var outboxWritten: (@Sendable () -> Void)?
    /// The tenants' devices by serial for the assign and revoke hot path (see `DeviceCache`).
    let deviceCache = DeviceCache()

    /// Events older than this are purged when a ledger opens.
    public static let eventRetentionDays: Int64 = 90

    /// With `create: false` a missing database file is refused (`not_found`) instead of created.
    public convenience init(path: String, create: Bool = true, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        guard create || FileManager.default.fileExists(atPath: path) else {
            throw AllotError.notFound("there is no ledger database at '\(path.printableExcerpt)'; check the path")
        }
        let sqlite = try Database(path: path, create: create)
        try self.init(database: sqlite, clock: clock)
    }

    /// Opens the ledger in a database already connected, applying its migrations.
    public init(database: any LedgerDatabase, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        self.database = database
        sqlite = database as? Database
        postgres = database as? PostgresLedgerDatabase
        self.clock = clock
        try Migrations.apply(to: database)
        try purgeEvents()
    }

    /// Opens the ledger a `--db` value names: a `postgres://` URL (`LedgerLocation`), else a
    /// SQLite file path.
    public convenience init(location: String, create: Bool = true, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        switch try LedgerLocation(parsing: location) {
        case .sqlite(let path):
            try self.init(path: path, create: create, clock: clock)
        case .postgres(let configuration):
            let database = try PostgresLedgerDatabase(configuration)
            // As with a missing file: a mistyped database name must not become an empty ledger.
            guard try create || database.schemaVersion() > 0 else {
                throw AllotError.notFound("the PostgreSQL database \(configuration.printable) holds no ledger; check the URL, or start one with a command that creates it")
            }
            try self.init(database: database, clock: clock)
        }
    }

    public var now: Int64 { clock() }

    // MARK: Tenants

    public static let slugLengthMax = 64

    public func createTenant(slug: String, name: String?, policy: AllocationPolicy = .mostAvailable) throws -> Tenant {
        guard Self.isValidSlug(slug) else {
            throw AllotError.invalidInput("tenant slug '\(slug.printableExcerpt)' is not valid; use 1 to \(Self.slugLengthMax) lowercase letters, digits and dashes, e.g. springfield-schools")
        }
        let name = name?.trimmingWhitespace() ?? slug
        guard name.count <= 200 else { throw AllotError.invalidInput("the tenant name is longer than 200 characters; shorten it") }
        return try database.transaction {
            if try tenant(slug: slug) != nil {
                throw AllotError.conflict("tenant '\(slug)' already exists; pick another slug")
            }
            let mdmId = UUID().uuidString.lowercased()
            try database.run("INSERT INTO tenants (slug, name, mdm_id, policy, created_at) VALUES (?, ?, ?, ?, ?)",
                             [.text(slug), .text(name.isEmpty ? slug : name), .text(mdmId), .text(policy.rawValue), .integer(now)])
            let id = TenantID(try database.lastInsertRowID)
            try recordEvent(tenant: id, kind: .tenantCreated, detail: ["slug": slug, "policy": policy.rawValue])
            return Tenant(id: id, slug: slug, name: name.isEmpty ? slug : name, policy: policy, mdmId: mdmId)
        }
    }

    public static func isValidSlug(_ slug: String) -> Bool {
        !slug.isEmpty && slug.utf8.count <= slugLengthMax && slug.first != "-"
            && slug.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    public func tenants() throws -> [Tenant] {
        try database.query("SELECT id, slug, name, policy, mdm_id FROM tenants ORDER BY slug", row: Self.tenant(from:))
    }

    public func tenant(slug: String) throws -> Tenant? {
        try database.queryFirst("SELECT id, slug, name, policy, mdm_id FROM tenants WHERE slug = ?", [.text(slug)], row: Self.tenant(from:))
    }

    /// The tenant, or a refusal naming the slug.
    public func requireTenant(slug: String) throws -> Tenant {
        guard let tenant = try tenant(slug: slug) else {
            throw AllotError(.notFound, "there is no tenant '\(slug.printableExcerpt)'; create it first", subject: .unknownTenant(slug: slug))
        }
        return tenant
    }

    public func setPolicy(tenant: TenantID, _ policy: AllocationPolicy) throws {
        try database.run("UPDATE tenants SET policy = ? WHERE id = ?", [.text(policy.rawValue), .integer(tenant.rawValue)])
    }

    /// Stores the hash of the tenant's API key (the key itself is never stored).
    /// Stores the hash of a tenant's API key. A rotation is recorded (`api_key_rotated`); the
    /// first key is part of the tenant's creation (its `tenant_created` event) and is not.
    public func setAPIKeyHash(tenant: TenantID, _ hash: String, rotation: Bool = true) throws {
        try database.transaction {
            try database.run("UPDATE tenants SET api_key_hash = ? WHERE id = ?", [.text(hash), .integer(tenant.rawValue)])
            if rotation { try recordEvent(tenant: tenant, kind: .apiKeyRotated, detail: [String: String]()) }
        }
    }

    /// Every assignment of a tenant as "adamId:pricing SERIAL locationUid" (what tests and
    /// `allot sim assignments` compare against Apple's side).
    public func assignmentLines(tenant: TenantID) throws -> Set<String> {
        Set(try database.query("""
            SELECT a.adam_id || ':' || a.pricing_param || ' ' || d.serial || ' ' || t.location_uid
            FROM assignments s JOIN assets a ON a.id = s.asset_id JOIN devices d ON d.id = s.device_id JOIN tokens t ON t.id = s.token_id
            WHERE s.tenant_id = ?
            """, [.integer(tenant.rawValue)]) { $0.string(0) })
    }

    /// The slug of the tenant whose API key hashes to `hash`, if any.
    public func tenantSlug(apiKeyHash hash: String) throws -> String? {
        try database.queryFirst("SELECT slug FROM tenants WHERE api_key_hash = ?", [.text(hash)]) { $0.string(0) }
    }

    public func apiKeyHash(tenant: TenantID) throws -> String? {
        try database.queryFirst("SELECT api_key_hash FROM tenants WHERE id = ?", [.integer(tenant.rawValue)]) { $0.optionalString(0) } ?? nil
    }

    private static func tenant(from row: any SQLRow) throws -> Tenant {
        guard let policy = AllocationPolicy(rawValue: row.string(3)) else {
            throw StoredValueError(column: "tenants.policy", value: row.string(3))
        }
        return Tenant(id: TenantID(row.int64(0)), slug: row.string(1), name: row.string(2), policy: policy, mdmId: row.string(4))
    }
}
