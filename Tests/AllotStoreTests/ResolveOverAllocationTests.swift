import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// `token resolve` on the ledger (issue 14 point 3). Every test makes its ledger with
/// `LedgerFixture` (the one factory), so the same tests run against each backend.
@Suite(.timeLimit(.minutes(5))) struct ResolveOverAllocationTests {
    static let app = AssetKey(adamId: "361309726")

    /// Two tokens; eight devices assigned on token 1 in two batches of four (devices 5 to 8 in
    /// group staff); then Apple's total on token 1 falls to `total`, token 2 holds `spare`.
    func world(_ backend: TestBackend, _ label: String = #function, total: Int, spare: Int) throws -> (LedgerFixture, Tenant, TokenID, TokenID, [String]) {
        let f = try LedgerFixture(backend, label)
        let tenant = try f.tenant("springfield")
        let first = try f.token(tenant, uid: "1001"), second = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, first, [(Self.app, total: 8, apple: 0)])
        try f.snapshot(tenant, second, [(Self.app, total: 0, apple: 0)])
        let students = try f.devices(tenant, prefix: "STU", count: 4, group: "students")
        let staff = try f.devices(tenant, prefix: "STA", count: 4, group: "staff")
        _ = try f.assign(tenant, Self.app, students)
        _ = try f.assign(tenant, Self.app, staff)
        try f.snapshot(tenant, first, [(Self.app, total: total, apple: 0)])
        try f.snapshot(tenant, second, [(Self.app, total: spare, apple: 0)])
        return (f, tenant, first, second, students + staff)
    }

    @Test(arguments: TestBackend.all) func theNewestMoveToAnotherTokenWithFreeLicencesAndTheRestAreRevoked(_ backend: TestBackend) throws {
        let (f, tenant, first, second, serials) = try world(backend, total: 5, spare: 2)
        let resolution = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: first, asset: nil, keepGroup: nil, dryRun: false)
        #expect(resolution.moved.map(\.serialNumber) == [serials[7], serials[6]], "the newest batch, newest device first")
        #expect(resolution.moved.allSatisfy { $0.toTokenId == second && $0.fromTokenId == first })
        #expect(resolution.revocation.devices == [serials[5]])
        #expect(resolution.apps.map(\.excess) == [3])
        #expect(try f.pool(first, Self.app) == PoolCounts(total: 5, here: 5, elsewhere: 0))
        #expect(try f.pool(second, Self.app) == PoolCounts(total: 2, here: 2, elsewhere: 0))
        #expect(try f.ledger.overAllocations(tenant: tenant.id).isEmpty)
        #expect(try f.count("outbox", where: "kind = 'disassociate' AND token_id = \(first.rawValue) AND serial_count = 3") == 1)
        #expect(try f.count("outbox", where: "kind = 'associate' AND token_id = \(second.rawValue) AND serial_count = 2") == 1)
        #expect(try f.count("events", where: "kind = 'over_allocation_resolved'") == 1)
        #expect(try ledgerInvariantViolations(f.ledger.database).isEmpty)
    }

    @Test(arguments: TestBackend.all) func theGroupToKeepGivesBackLast(_ backend: TestBackend) throws {
        let (f, tenant, first, _, serials) = try world(backend, total: 5, spare: 0)
        let resolution = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: first, asset: Self.app, keepGroup: "staff", dryRun: false)
        #expect(resolution.moved.isEmpty)
        #expect(resolution.revocation.devices == [serials[1], serials[2], serials[3]], "students, newest first; staff kept")
        #expect(try f.pool(first, Self.app)?.here == 5)
    }

    @Test(arguments: TestBackend.all) func aDryRunDecidesTheSameAndChangesNothing(_ backend: TestBackend) throws {
        let (f, tenant, first, _, _) = try world(backend, total: 6, spare: 1)
        let before = try f.contents()
        let dry = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: first, asset: nil, keepGroup: nil, dryRun: true)
        #expect(try f.contents() == before)
        let real = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: first, asset: nil, keepGroup: nil, dryRun: false)
        #expect(dry.moved == real.moved)
        #expect(dry.revocation == real.revocation)
        #expect(dry.dryRun && !real.dryRun)
    }

    @Test(arguments: TestBackend.all) func excessHeldByAnotherServerIsReportedNotTaken(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(Self.app, total: 2, apple: 0)])
        let serials = try f.devices(tenant, prefix: "OTH", count: 2)
        _ = try f.assign(tenant, Self.app, serials)
        // Apple counts 4 others in use at the location and the total falls to 1.
        try f.snapshot(tenant, token, [(Self.app, total: 1, apple: 4)])
        let resolution = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: token, asset: nil, keepGroup: nil, dryRun: false)
        #expect(resolution.apps.first?.excess == 5)
        #expect(resolution.revocation.revoked == 2)
        #expect(resolution.apps.first?.unresolved == 3)
    }

    @Test(arguments: TestBackend.all) func aTokenWithinItsTotalHasNothingToResolve(_ backend: TestBackend) throws {
        let (f, tenant, first, _, _) = try world(backend, total: 8, spare: 0)
        let before = try f.contents()
        let resolution = try Workflows(f.ledger).resolveOverAllocation(tenant: tenant, token: first, asset: nil, keepGroup: nil, dryRun: false)
        #expect(resolution.apps.isEmpty)
        #expect(try f.contents() == before)
    }
}
