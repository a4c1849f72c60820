import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Issue 13, point 5: `allot db copy` moves a SQLite ledger into PostgreSQL whole, refuses a
/// target that is not empty, and the copy goes on where the original stopped.
@Suite(.enabled(if: TestPostgres.server != nil, "no PostgreSQL for the tests; set ALLOT_TEST_POSTGRES_URL or install PostgreSQL"), .timeLimit(.minutes(5)))
struct LedgerCopyTests {
    let app = AssetKey(adamId: "361309726")

    @Test func aSQLiteLedgerCopiedIntoPostgreSQLHoldsTheSameRowsAndGoesOnFromThere() throws {
        let sqlite = try LedgerFixture(.sqlite)
        let tenant = try sqlite.tenant("springfield")
        let token = try sqlite.token(tenant, uid: "1001")
        let book = AssetKey(adamId: "1448295111")
        try sqlite.snapshot(tenant, token, [(app, total: 5, apple: 1), (book, total: 1, apple: 0)])
        let serials = try sqlite.devices(tenant, prefix: "COPY", count: 8, group: "lab")
        _ = try sqlite.assign(tenant, app, serials, key: "first")
        _ = try sqlite.revoke(tenant, app, [serials[0]])
        // People too: one holds a licence (registered at the location), one waits for one.
        _ = try sqlite.ledger.importUsers(tenant: tenant.id, csv: Array("user_id,email\nann,ann@x.example\nben,\n".utf8))
        _ = try Workflows(sqlite.ledger).runUserBatch(tenant: tenant, direction: .assign,
                                                      items: ["ann", "ben"].map { UserItem(asset: book, userId: $0) }, queue: true)

        let target = try TestPostgres.freshDatabase("copy")
        let postgres = try PostgresLedgerDatabase(target)
        try Migrations.apply(to: postgres)
        let report = try LedgerCopy.copy(from: sqlite.ledger.sqlite!, to: postgres)
        #expect(report.rows["assignments"] == 3)   // 4 free licences assigned, one revoked
        #expect(report.rows["devices"] == 8)
        #expect(report.rows["users"] == 2 && report.rows["user_assignments"] == 1 && report.rows["user_locations"] == 1
                && report.rows["user_demand_queue"] == 1, "\(report.rows)")

        let copy = try Ledger(database: postgres, clock: sqlite.clock.closure)
        let copied = LedgerFixtureView(ledger: copy)
        #expect(try copied.contents() == LedgerFixtureView(ledger: sqlite.ledger).contents())
        #expect(try ledgerInvariantViolations(copy.database) == [])
        // The same answers from the copy: a repeated key, then new work with new ids.
        let copiedTenant = try copy.requireTenant(slug: "springfield")
        let repeated = try Workflows(copy).runBatch(tenant: copiedTenant, direction: .assign, items: serials.map { BatchItem(asset: app, serial: $0) },
                                         idempotencyKey: "first")
        #expect(repeated.batchId != nil)
        let next = try Workflows(copy).runBatch(tenant: copiedTenant, direction: .assign, items: [BatchItem(asset: app, serial: serials[0])])
        #expect(next.items.map(\.result) == [.assigned])
        #expect(try #require(next.batchId).rawValue > (repeated.batchId?.rawValue ?? 0))
        let person = try Workflows(copy).runUserBatch(tenant: copiedTenant, direction: .assign, items: [UserItem(asset: book, userId: "ann")])
        #expect(person.items.map(\.result) == [.alreadyAssigned])
        #expect(try ledgerInvariantViolations(copy.database) == [])

        // A second copy into the same database is refused and changes nothing.
        let before = try copied.contents()
        let error = #expect(throws: AllotError.self) { try LedgerCopy.copy(from: sqlite.ledger.sqlite!, to: postgres) }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("already holds a ledger") == true)
        #expect(try copied.contents() == before)
    }
}

/// The fingerprint of `LedgerFixture.contents()` for any ledger.
struct LedgerFixtureView {
    let ledger: Ledger
    func contents() throws -> [String] {
        let queries = [
            "SELECT 'tenant', id, slug, name, policy, mdm_id FROM tenants ORDER BY 2",
            "SELECT 'pool', token_id, asset_id, total, assigned_here, assigned_elsewhere FROM pool ORDER BY 2, 3",
            "SELECT 'assignment', tenant_id, asset_id, device_id, token_id, batch_id FROM assignments ORDER BY 2, 3, 4",
            "SELECT 'device', id, tenant_id, serial, coalesce(grp, '-'), coalesce(retired_at, -1) FROM devices ORDER BY 2",
            "SELECT 'token', id, tenant_id, state, expires_at, length(secret) FROM tokens ORDER BY 2",
            "SELECT 'batch', id, tenant_id, kind, coalesce(idempotency_key, '-'), length(response) FROM batches ORDER BY 2",
            "SELECT 'outbox', id, token_id, kind, assets, s.serials FROM outbox JOIN outbox_serials s ON s.operation_id = outbox.id ORDER BY 2",
            "SELECT 'event', id, tenant_id, kind, at, detail FROM events ORDER BY 2",
            "SELECT 'user', id, tenant_id, user_key, client_user_id, coalesce(email, '-') FROM users ORDER BY 2",
            "SELECT 'user_location', user_id, token_id, status, tenant_id, updated_at FROM user_locations ORDER BY 2, 3",
            "SELECT 'user_assignment', tenant_id, asset_id, user_id, token_id, batch_id FROM user_assignments ORDER BY 2, 3, 4",
            "SELECT 'outbox_subject', id, subject, kind, token_id, serial_count FROM outbox ORDER BY 2",
        ]
        return try queries.flatMap { sql in
            try ledger.database.query(sql) { row in (0..<6).map { row.string(Int32($0)) }.joined(separator: "|") }
        }
    }
}
