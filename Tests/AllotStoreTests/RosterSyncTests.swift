import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// `devices import --retire-missing` on the ledger (issue 14 point 2): the file is the fleet.
/// Every test makes its ledger with `LedgerFixture` (the one factory), so the same tests run
/// against each backend.
@Suite(.timeLimit(.minutes(5))) struct RosterSyncTests {
    static let app = AssetKey(adamId: "361309726")

    func world(_ backend: TestBackend, _ label: String = #function, devices: Int) throws -> (LedgerFixture, Tenant, [String]) {
        let f = try LedgerFixture(backend, label)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(Self.app, total: devices, apple: 0)])
        let serials = try f.devices(tenant, prefix: "ROS", count: devices)
        _ = try f.assign(tenant, Self.app, serials)
        return (f, tenant, serials)
    }

    func csv(_ serials: some Sequence<String>) -> [UInt8] {
        Array(("serial_number,name\n" + serials.map { "\($0),Cart\n" }.joined()).utf8)
    }

    @Test(arguments: TestBackend.all) func devicesAbsentFromTheFileAreRetiredAndGiveTheirLicencesBack(_ backend: TestBackend) throws {
        let (f, tenant, serials) = try world(backend, devices: 20)
        let report = try f.ledger.syncRoster(tenant: tenant.id, csv: csv(serials.dropLast(2) + ["ROSNEW000001"]), allowance: .standard, dryRun: false)
        #expect(report.imported.imported == 1)
        #expect(report.imported.updated == 18)
        #expect(report.retired == Array(serials.suffix(2)))
        #expect(report.revocation.revoked == 2)
        #expect(report.revocation.devices == Array(serials.suffix(2)), "the uninstall list, as `devices retire` gives")
        #expect(try f.pool(TokenID(1), Self.app) == PoolCounts(total: 20, here: 18, elsewhere: 0))
        #expect(try f.ledger.devices(tenant: tenant.id).filter(\.retired).map(\.serialNumber) == Array(serials.suffix(2)))
        #expect(try ledgerInvariantViolations(f.ledger.database).isEmpty)
    }

    @Test(arguments: TestBackend.all) func moreThanTheShareAllowedIsRefusedWholeWithHowToAllowIt(_ backend: TestBackend) throws {
        let (f, tenant, serials) = try world(backend, devices: 20)
        let before = try f.contents()
        let truncated = csv(serials.prefix(5) + ["ROSNEW000001"])
        do {
            _ = try f.ledger.syncRoster(tenant: tenant.id, csv: truncated, allowance: .standard, dryRun: false)
            Issue.record("a truncated file was accepted")
        } catch let error as AllotError {
            #expect(error.message.contains("15 of the tenant's 20 managed devices (75%)"), "\(error.message)")
            // The facts that allow it; each face names its own option (the CLI: --max-retire).
            #expect(error.subject == .retireShareExceeded(retiring: 15, percent: 75))
            #expect(!error.message.contains("--"), "an engine's refusal names no command-line option: \(error.message)")
        }
        #expect(try f.contents() == before, "nothing was imported, nothing retired")
        let allowed = try f.ledger.syncRoster(tenant: tenant.id, csv: truncated, allowance: .percent(75), dryRun: false)
        #expect(allowed.retired.count == 15)
    }

    @Test(arguments: TestBackend.all) func aDryRunSaysWhatWouldGoAndChangesNothing(_ backend: TestBackend) throws {
        let (f, tenant, serials) = try world(backend, devices: 10)
        let before = try f.contents()
        let report = try f.ledger.syncRoster(tenant: tenant.id, csv: csv(serials.dropFirst()), allowance: .devices(1), dryRun: true)
        #expect(report.dryRun)
        #expect(report.retired == [serials[0]])
        #expect(report.revocation.revoked == 1)
        #expect(try f.contents() == before)
    }

    @Test(arguments: TestBackend.all) func aRejectedLineRefusesTheSyncSinceItsDeviceWouldBeRetired(_ backend: TestBackend) throws {
        let (f, tenant, serials) = try world(backend, devices: 4)
        let before = try f.contents()
        let bytes = Array(("serial_number\n" + serials.dropLast().joined(separator: "\n") + "\nbad\n").utf8)
        #expect(throws: AllotError.self) { try f.ledger.syncRoster(tenant: tenant.id, csv: bytes, allowance: .percent(100), dryRun: false) }
        #expect(try f.contents() == before)
    }

    @Test(arguments: TestBackend.all) func aRetiredDeviceLeavesTheQueueAndItsLicenceServesTheHead(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(Self.app, total: 2, apple: 0)])
        let serials = try f.devices(tenant, prefix: "ROS", count: 4)
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        let report = try f.ledger.syncRoster(tenant: tenant.id, csv: csv([serials[1], serials[2]]), allowance: .percent(50), dryRun: false)
        #expect(report.retired == [serials[0], serials[3]])
        #expect(try f.ledger.queue(tenant: tenant.id).map(\.serialNumber) == [serials[2]])
        #expect(try Workflows(f.ledger).serveQueue(tenant: tenant, asset: Self.app)?.served == 1)
        #expect(try f.ledger.queue(tenant: tenant.id).isEmpty)
    }
}
