import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// The ledger's side of a drift repair: one transaction, counters moved by the rows that
/// changed, the invariants kept.
@Suite(.timeLimit(.minutes(5))) struct DriftRepairTests {
    let app = AssetKey(adamId: "361309726")

    @Test(arguments: TestBackend.all) func repairRecordsAppleHoldsAndQueuesWhatAppleLacksKeepingTheCountsExact(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        // Apple counts 2 in use: one the ledger does not know of is among them.
        _ = try f.snapshot(tenant, token, [(app, total: 10, apple: 2)])
        let serials = try f.devices(tenant, prefix: "DRF", count: 2)
        _ = try f.assign(tenant, app, [serials[0]])
        let unknownSerial = testSerial("NEW", 1)
        let drift = [
            AssignmentDrift(.missingAtApple, HeldLicence(asset: app, serial: serials[0])),
            AssignmentDrift(.unknownToLedger, HeldLicence(asset: app, serial: serials[1])),
            AssignmentDrift(.unknownToLedger, HeldLicence(asset: app, serial: unknownSerial)),
            AssignmentDrift(.unknownToLedger, HeldLicence(asset: app, serial: "not a serial")),
        ]
        let before = try #require(try f.pool(token, app))
        let repair = try Workflows(f.ledger).repairDrift(tenant: tenant.id, token: token, drift)
        #expect(repair.resent == 1)
        #expect(repair.recorded == 2)
        #expect(repair.left == 1)
        let after = try #require(try f.pool(token, app))
        #expect(after.here == before.here + 2)
        #expect(after.elsewhere == max(0, before.elsewhere - 2))
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
        #expect(try f.ledger.heldLicences(tenant: tenant.id, token: token).map(\.serial).sorted() == [serials[0], serials[1], unknownSerial].sorted())
        #expect(try f.ledger.licencesInFlight(token: token).contains(HeldLicence(asset: app, serial: serials[0])))
        // Repeating the repair records nothing twice.
        let again = try Workflows(f.ledger).repairDrift(tenant: tenant.id, token: token, drift.filter { $0.kind == .unknownToLedger })
        #expect(again.recorded == 0)
        #expect(try f.pool(token, app) == after)
    }

    @Test(arguments: TestBackend.all) func anotherTenantsTokenIsRefusedAndNothingChanges(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let other = try f.tenant("shelbyville")
        let token = try f.token(other, uid: "2001")
        _ = try f.snapshot(other, token, [(app, total: 10, apple: 0)])
        let before = try f.contents()
        #expect(throws: AllotError.self) {
            _ = try Workflows(f.ledger).repairDrift(tenant: tenant.id, token: token,
                                         [AssignmentDrift(.unknownToLedger, HeldLicence(asset: self.app, serial: testSerial("NEW", 1)))])
        }
        #expect(try f.contents() == before)
    }
}
