import AllotCore
import AllotStore
import Foundation
import Testing

/// Issue 10, point 6: a stored value this allot does not know is corruption; reading it back
/// throws, naming the column, instead of becoming a default that hides it.
@Suite(.timeLimit(.minutes(5))) struct StoredValueTests {
    /// Writes `sql` past the schema's CHECKs, as a damaged file or a newer allot would.
    func corrupt(_ f: LedgerFixture, _ sql: String) throws {
        switch f.backend {
        case .sqlite:
            let raw = try Database(path: f.path)
            try raw.execute("PRAGMA ignore_check_constraints = ON")
            try raw.execute(sql)
        case .postgres:
            // PostgreSQL cannot skip its CHECKs for one write: drop them, as a damaged or
            // hand-edited database would lack them.
            let database = f.ledger.database
            let checks = try database.query("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'c' AND conrelid <> 0") {
                ($0.string(0), $0.string(1))
            }
            for (table, name) in checks { try database.execute("ALTER TABLE \(table) DROP CONSTRAINT \(name)") }
            try database.execute(sql)
        }
    }

    @Test(arguments: TestBackend.all) func anUnknownTokenStateIsThrownNotReadAsInvalid(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try corrupt(f, "UPDATE tokens SET state = 'hibernating'")
        let error = #expect(throws: StoredValueError.self) { _ = try f.ledger.tokens(tenant: tenant.id) }
        #expect(error?.column == "tokens.state")
        #expect(error?.description.contains("hibernating") == true)
        #expect(throws: StoredValueError.self) { _ = try f.ledger.token(tenant: tenant.id, "\(token)") }
        #expect(throws: StoredValueError.self) {
            try f.ledger.setTokenState(tenant: tenant.id, token: token, .expired, reason: "test")
        }
    }

    @Test(arguments: TestBackend.all) func anUnknownPolicyIsThrownNotReadAsMostAvailable(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        _ = try f.tenant("springfield")
        try corrupt(f, "UPDATE tenants SET policy = 'random'")
        let error = #expect(throws: StoredValueError.self) { _ = try f.ledger.requireTenant(slug: "springfield") }
        #expect(error?.column == "tenants.policy")
    }

    @Test(arguments: TestBackend.all) func anUnknownPricingIsThrownNotReadAsStandard(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        let app = AssetKey(adamId: "361309726")
        _ = try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "VAL", count: 1)
        _ = try f.assign(tenant, app, serials)
        try corrupt(f, "UPDATE assets SET pricing_param = 'FREE'")
        let error = #expect(throws: StoredValueError.self) { _ = try f.ledger.heldLicences(tenant: tenant.id, token: token) }
        #expect(error?.column == "pricing_param")
    }

    @Test(arguments: TestBackend.all) func aTokenLookedUpByAnIdThatIsAlsoNotALocationIsNotFoundWithoutSwallowingErrors(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        _ = try f.token(tenant, uid: "1001")
        #expect(try f.ledger.token(tenant: tenant.id, "999") == nil)
        #expect(try f.ledger.token(tenant: tenant.id, "1001")?.locationUid == "1001")
    }

    /// PostgreSQL's row reader decodes every cell as it reads the row: a value it cannot decode
    /// (a type this ledger never writes, a fraction where a count belongs) throws with the
    /// column's name instead of reading as 0 or "".
    @Test(.enabled(if: TestBackend.all.contains(.postgres))) func anUndecodableCellThrowsWithItsColumnsName() throws {
        let f = try LedgerFixture(.postgres)
        let ratio = #expect(throws: StoredValueError.self) {
            _ = try f.ledger.database.queryFirst("SELECT 1.5::float8 AS ratio") { $0.string(0) }
        }
        #expect(ratio?.column == "ratio")
        let share = #expect(throws: StoredValueError.self) {
            _ = try f.ledger.database.queryFirst("SELECT 2.5::numeric AS share") { $0.int64(0) }
        }
        #expect(share?.column == "share")
        // What the ledger does write reads back as it was written.
        let row = try f.ledger.database.queryFirst("SELECT 42::bigint, 'text', true, NULL::text, 7::numeric") {
            ($0.int64(0), $0.string(1), $0.bool(2), $0.optionalString(3), $0.int(4))
        }
        #expect(row?.0 == 42 && row?.1 == "text" && row?.2 == true && row?.3 == nil && row?.4 == 7)
    }
}
