import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// A folder of its own for one test, removed when the test lets go of it.
final class TemporaryFolder {
    let url: URL

    init(_ label: String = #function) throws {
        let name = "allot-\(label.filter { $0.isLetter || $0.isNumber }.prefix(40))-\(UUID().uuidString)"
        url = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ file: String) -> String { url.appendingPathComponent(file).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A clock the tests move by hand; the ledger reads it through a Sendable closure.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    init(_ start: Int64 = 1_800_000_000) { value = start }

    var now: Int64 {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    var closure: @Sendable () -> Int64 { { [self] in now } }
}

let dayInSeconds: Int64 = 86_400

/// Serials that SerialNumber accepts: a prefix and a zero-padded index, 12 characters.
func testSerial(_ prefix: String, _ index: Int) -> String {
    let digits = String(index)
    return prefix + String(repeating: "0", count: max(0, 12 - prefix.count - digits.count)) + digits
}

/// A ledger on a fresh file (or a fresh PostgreSQL database) with a clock the test controls.
struct LedgerFixture {
    let folder: TemporaryFolder
    let clock: TestClock
    let ledger: Ledger
    let backend: TestBackend
    /// The PostgreSQL database, for the PostgreSQL backend.
    let postgres: PostgresLocation?

    init(_ backend: TestBackend = .sqlite, _ label: String = #function) throws {
        folder = try TemporaryFolder(label)
        clock = TestClock()
        self.backend = backend
        switch backend {
        case .sqlite:
            postgres = nil
            ledger = try Ledger(path: folder.path("ledger.sqlite"), clock: clock.closure)
        case .postgres:
            let location = try TestPostgres.freshDatabase(label)
            postgres = location
            ledger = try Ledger(database: try PostgresLedgerDatabase(location), clock: clock.closure)
        }
    }

    init(_ label: String) throws { try self.init(.sqlite, label) }

    var path: String { folder.path("ledger.sqlite") }

    /// A second ledger on the same database: another process, or another node.
    func reopen() throws -> Ledger {
        switch backend {
        case .sqlite: try Ledger(path: path, clock: clock.closure)
        case .postgres: try Ledger(database: try PostgresLedgerDatabase(postgres!), clock: clock.closure)
        }
    }

    func tenant(_ slug: String, policy: AllocationPolicy = .mostAvailable) throws -> Tenant {
        try ledger.createTenant(slug: slug, name: slug.uppercased(), policy: policy)
    }

    func token(_ tenant: Tenant, uid: String, expiresInDays: Int64 = 365, priority: Int = 0) throws -> TokenID {
        try ledger.addToken(tenant: tenant.id, NewToken(locationUid: uid, locationName: "Location \(uid)", orgName: "Org",
                                                        secret: Array("secret-\(uid)".utf8),
                                                        expiresAt: clock.now + expiresInDays * dayInSeconds, priority: priority))
    }

    @discardableResult
    func devices(_ tenant: Tenant, prefix: String, count: Int, group: String? = nil) throws -> [String] {
        let serials = (0..<count).map { testSerial(prefix, $0) }
        _ = try ledger.registerDevices(tenant: tenant.id, serials.map { DeviceInput(serial: SerialNumber($0)!, group: group) })
        return serials
    }

    @discardableResult
    func snapshot(_ tenant: Tenant, _ token: TokenID, _ assets: [(AssetKey, total: Int, apple: Int)]) throws -> SnapshotReport {
        try ledger.applySnapshot(tenant: tenant.id, token: token,
                                 assets: assets.map { SnapshotAsset(asset: $0.0, total: $0.total, appleAssigned: $0.apple) })
    }

    func assign(_ tenant: Tenant, _ app: AssetKey, _ serials: [String], mode: BatchMode = .partial, key: String? = nil) throws -> BatchOutcome {
        try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: app, serial: $0) },
                            mode: mode, idempotencyKey: key)
    }

    func revoke(_ tenant: Tenant, _ app: AssetKey, _ serials: [String], mode: BatchMode = .partial, key: String? = nil) throws -> BatchOutcome {
        try Workflows(ledger).runBatch(tenant: tenant, direction: .revoke, items: serials.map { BatchItem(asset: app, serial: $0) },
                            mode: mode, idempotencyKey: key)
    }

    func count(_ table: String, where condition: String = "1 = 1") throws -> Int {
        try ledger.database.queryFirst("SELECT count(*) FROM \(table) WHERE \(condition)") { $0.int(0) } ?? -1
    }

    /// Row counts of every table, to show that a refused call wrote nothing.
    func rowCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in ["tenants", "tokens", "assets", "pool", "devices", "batches", "assignments", "outbox", "events"] {
            counts[table] = try count(table)
        }
        return counts
    }

    /// A fingerprint of every row that matters: refused or dry-run calls leave it unchanged.
    func contents() throws -> [String] {
        var rows: [String] = []
        let queries = [
            "SELECT 'pool', token_id, asset_id, total, assigned_here, assigned_elsewhere FROM pool ORDER BY 2, 3",
            "SELECT 'assignment', tenant_id, asset_id, device_id, token_id, batch_id FROM assignments ORDER BY 2, 3, 4",
            "SELECT 'device', id, tenant_id, serial, coalesce(name, '-'), coalesce(retired_at, -1) FROM devices ORDER BY 2",
            "SELECT 'token', id, tenant_id, state, expires_at, priority FROM tokens ORDER BY 2",
            "SELECT 'batch', id, tenant_id, kind, item_count, changed_count FROM batches ORDER BY 2",
            "SELECT 'outbox', id, token_id, kind, assets, serial_count FROM outbox ORDER BY 2",
            "SELECT 'event', id, tenant_id, kind, coalesce(token_id, -1), detail FROM events ORDER BY 2",
        ]
        for sql in queries {
            rows += try ledger.database.query(sql) { row in (0..<6).map { row.string(Int32($0)) }.joined(separator: "|") }
        }
        return rows
    }

    func pool(_ token: TokenID, _ app: AssetKey) throws -> PoolCounts? {
        try ledger.database.queryFirst("""
            SELECT p.total, p.assigned_here, p.assigned_elsewhere FROM pool p JOIN assets a ON a.id = p.asset_id
            WHERE p.token_id = ? AND a.adam_id = ? AND a.pricing_param = ?
            """, [.integer(token.rawValue), .text(app.adamId), .text(app.pricingParam.rawValue)]) {
            PoolCounts(total: $0.int(0), here: $0.int(1), elsewhere: $0.int(2))
        }
    }

    func merged(_ tenant: Tenant, _ app: AssetKey) throws -> MergedPool? {
        try ledger.mergedPools(tenant: tenant.id).first { $0.adamId == app.adamId && $0.pricingParam == app.pricingParam.rawValue }
    }
}

struct PoolCounts: Equatable, CustomStringConvertible {
    let total: Int, here: Int, elsewhere: Int
    var description: String { "total \(total), here \(here), elsewhere \(elsewhere)" }
}

/// The invariants of DESIGN.md checked on the database itself; an empty list when all hold.
/// `thorough` adds SQLite's own integrity and foreign-key checks (slower).
func ledgerInvariantViolations(_ database: any LedgerDatabase, thorough: Bool = true) throws -> [String] {
    var problems: [String] = []
    func each(_ label: String, _ sql: String) throws {
        let rows = try database.query(sql) { row in (0..<4).map { row.string(Int32($0)) }.joined(separator: ",") }
        problems += rows.prefix(5).map { "\(label): \($0)" }
    }
    // 1. assigned_here equals the assignment rows drawing on the pool; never negative.
    try each("pool counter differs from its assignment rows", """
        SELECT p.token_id, p.asset_id, p.assigned_here, ((SELECT count(*) FROM assignments a WHERE a.token_id = p.token_id AND a.asset_id = p.asset_id) + (SELECT count(*) FROM user_assignments u WHERE u.token_id = p.token_id AND u.asset_id = p.asset_id)) AS n
        FROM pool p WHERE p.assigned_here != ((SELECT count(*) FROM assignments a WHERE a.token_id = p.token_id AND a.asset_id = p.asset_id) + (SELECT count(*) FROM user_assignments u WHERE u.token_id = p.token_id AND u.asset_id = p.asset_id))
        """)
    try each("assignment rows without a pool row", """
        SELECT a.token_id, a.asset_id, a.device_id, a.tenant_id FROM assignments a
        WHERE NOT EXISTS (SELECT 1 FROM pool p WHERE p.token_id = a.token_id AND p.asset_id = a.asset_id)
        """)
    try each("negative counts", "SELECT token_id, asset_id, assigned_here, assigned_elsewhere FROM pool WHERE assigned_here < 0 OR assigned_elsewhere < 0 OR total < 0")
    try each("a person holds an asset twice", """
        SELECT tenant_id, asset_id, user_id, count(*) FROM user_assignments GROUP BY tenant_id, asset_id, user_id HAVING count(*) > 1
        """)
    try each("user assignment rows without a pool row", """
        SELECT a.token_id, a.asset_id, a.user_id, a.tenant_id FROM user_assignments a
        WHERE NOT EXISTS (SELECT 1 FROM pool p WHERE p.token_id = a.token_id AND p.asset_id = a.asset_id)
        """)
    // 2. A device holds an asset at most once (the primary key says so; checked anyway).
    try each("a device holds an asset twice", """
        SELECT tenant_id, asset_id, device_id, count(*) FROM assignments GROUP BY tenant_id, asset_id, device_id HAVING count(*) > 1
        """)
    // 3. Tenants are sealed.
    try each("assignment of another tenant's token, asset or device", """
        SELECT a.tenant_id, a.asset_id, a.device_id, a.token_id FROM assignments a
        JOIN tokens t ON t.id = a.token_id JOIN assets s ON s.id = a.asset_id JOIN devices d ON d.id = a.device_id
        WHERE t.tenant_id != a.tenant_id OR s.tenant_id != a.tenant_id OR d.tenant_id != a.tenant_id
        """)
    try each("pool row joining two tenants", """
        SELECT p.token_id, p.asset_id, t.tenant_id, s.tenant_id FROM pool p JOIN tokens t ON t.id = p.token_id JOIN assets s ON s.id = p.asset_id
        WHERE t.tenant_id != s.tenant_id
        """)
    try each("outbox row on another tenant's token", """
        SELECT o.id, o.tenant_id, t.tenant_id, o.token_id FROM outbox o JOIN tokens t ON t.id = o.token_id WHERE t.tenant_id != o.tenant_id
        """)
    try each("event naming another tenant's token", """
        SELECT e.id, e.tenant_id, t.tenant_id, e.kind FROM events e JOIN tokens t ON t.id = e.token_id WHERE t.tenant_id != e.tenant_id
        """)
    // 4 and 5. Every batch is whole: its outbox operations carry exactly the rows it changed
    // (a user's registration or retirement at a location changes no licence).
    try each("batch whose outbox differs from its changed rows", """
        SELECT b.id, b.kind, b.changed_count, coalesce(o.sent, 0) FROM batches b
        LEFT JOIN (SELECT batch_id, sum(serial_count) AS sent FROM outbox WHERE subject <> 'user_records' GROUP BY batch_id) o ON o.batch_id = b.id
        WHERE b.changed_count != coalesce(o.sent, 0)
        """)
    try each("assignment rows of a non-assign batch, or more than its batch inserted", """
        SELECT b.id, b.kind, b.changed_count, a.n FROM batches b
        JOIN (SELECT batch_id, count(*) AS n FROM assignments GROUP BY batch_id) a ON a.batch_id = b.id
        WHERE b.kind != 'assign' OR a.n > b.changed_count
        """)
    try each("outbox row of another batch's tenant", """
        SELECT o.id, o.tenant_id, b.tenant_id, o.batch_id FROM outbox o JOIN batches b ON b.id = o.batch_id WHERE b.tenant_id != o.tenant_id
        """)
    // PostgreSQL checks every constraint on every write and has no PRAGMA to ask again.
    guard thorough, database.backend == .sqlite else { return problems }
    let integrity = try database.query("PRAGMA integrity_check") { $0.string(0) }
    if integrity != ["ok"] { problems.append("integrity_check: \(integrity.prefix(3))") }
    let foreignKeys = try database.query("PRAGMA foreign_key_check") { $0.string(0) }
    if !foreignKeys.isEmpty { problems.append("foreign_key_check: \(foreignKeys.prefix(3))") }
    return problems
}

