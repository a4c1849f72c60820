import AllotCore
@testable import AllotStore
import Foundation
import Testing

/// The in-memory device cache of the assign path must answer exactly as the devices table does.
@Suite(.timeLimit(.minutes(5))) struct DeviceCacheTests {
    let app = AssetKey(adamId: "361309726")

    private func world(_ label: String = #function) throws -> (LedgerFixture, Tenant) {
        let f = try LedgerFixture(label)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 100, apple: 0)])
        return (f, tenant)
    }

    @Test func aDeviceRegisteredByASecondLedgerOnTheSameFileIsSeenByTheFirstOnItsNextBatch() throws {
        let (f, tenant) = try world()
        let known = try f.devices(tenant, prefix: "KNW", count: 2)
        let newcomer = testSerial("NEW", 1)
        // The first batch loads the tenant's devices into the cache.
        let before = try f.assign(tenant, app, known + [newcomer])
        #expect(before.items.map(\.result) == [.assigned, .assigned, .unknownDevice])
        #expect(f.ledger.deviceCache.cachedTenants.contains(tenant.id))

        let other = try Ledger(path: f.path, clock: f.clock.closure)
        _ = try other.registerDevices(tenant: tenant.id, [DeviceInput(serial: SerialNumber(newcomer)!)])

        let after = try f.assign(tenant, app, [newcomer])
        #expect(after.items.map(\.result) == [.assigned])
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test func aDeviceRetiredBySecondLedgerIsRefusedOnTheFirstLedgersNextBatch() throws {
        let (f, tenant) = try world()
        let serials = try f.devices(tenant, prefix: "RTO", count: 2)
        #expect(try f.assign(tenant, app, [serials[0]]).items.map(\.result) == [.assigned])

        let other = try Ledger(path: f.path, clock: f.clock.closure)
        _ = try other.retireDevices(tenant: tenant.id, serials: [serials[1]])

        #expect(try f.assign(tenant, app, [serials[1]]).items.map(\.result) == [.unknownDevice])
    }

    @Test func aDeviceRetiredThroughTheSameLedgerIsRefusedAtOnce() throws {
        let (f, tenant) = try world()
        let serials = try f.devices(tenant, prefix: "RET", count: 3)
        #expect(try f.assign(tenant, app, serials).items.allSatisfy { $0.result == .assigned })
        let report = try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[1]])
        #expect(report.revoked == 1)

        let again = try f.assign(tenant, app, serials)
        #expect(again.items.map(\.result) == [.alreadyAssigned, .unknownDevice, .alreadyAssigned])
        #expect(again.items[1].reason?.contains("retired") == true)
        // Imported again, it is managed again.
        _ = try f.ledger.importRoster(tenant: tenant.id, csv: Array("serial_number\n\(serials[1])\n".utf8))
        #expect(try f.assign(tenant, app, [serials[1]]).items.map(\.result) == [.assigned])
    }

    @Test func aDeviceRegisteredThroughTheSameLedgerIsSeenAtOnce() throws {
        let (f, tenant) = try world()
        try f.devices(tenant, prefix: "OLD", count: 1)
        let newcomer = testSerial("NEW", 7)
        #expect(try f.assign(tenant, app, [newcomer]).items.map(\.result) == [.unknownDevice])
        _ = try f.ledger.registerDevices(tenant: tenant.id, [DeviceInput(serial: SerialNumber(newcomer)!)])
        #expect(try f.assign(tenant, app, [newcomer]).items.map(\.result) == [.assigned])
    }

    @Test func aRolledBackRegistrationDoesNotLeakIntoTheCache() throws {
        let (f, tenant) = try world()
        try f.devices(tenant, prefix: "OLD", count: 1)
        let ghost = testSerial("GHO", 1)
        #expect(try f.assign(tenant, app, [ghost]).items.map(\.result) == [.unknownDevice])

        // On this connection: a raw insert that rolls back (seen by the update hook).
        try f.ledger.database.rolledBack {
            try f.ledger.database.run("INSERT INTO devices (tenant_id, serial) VALUES (?, ?)", [.integer(tenant.id.rawValue), .text(ghost)])
        }
        // A dry run after it loads the cache again, inside a transaction that rolls back.
        #expect(try f.assign(tenant, app, [ghost], mode: .dryRun).items.map(\.result) == [.unknownDevice])
        #expect(try f.assign(tenant, app, [ghost]).items.map(\.result) == [.unknownDevice])

        // On another connection: a registration that never commits.
        let other = try Ledger(path: f.path, clock: f.clock.closure)
        try other.database.rolledBack {
            _ = try other.database.run("INSERT INTO devices (tenant_id, serial) VALUES (?, ?)", [.integer(tenant.id.rawValue), .text(ghost)])
        }
        #expect(try f.assign(tenant, app, [ghost]).items.map(\.result) == [.unknownDevice])

        // A raw insert on this connection that commits is seen.
        try f.ledger.database.run("INSERT INTO devices (tenant_id, serial) VALUES (?, ?)", [.integer(tenant.id.rawValue), .text(ghost)])
        #expect(try f.assign(tenant, app, [ghost]).items.map(\.result) == [.assigned])
    }

    @Test func aRefusedAllOrNothingBatchAndADryRunLeaveTheCacheExact() throws {
        let (f, tenant) = try world()
        let serials = try f.devices(tenant, prefix: "AON", count: 2)
        let refused = try f.assign(tenant, app, serials + [testSerial("UNK", 1)], mode: .allOrNothing)
        #expect(!refused.committed)
        let dry = try f.assign(tenant, app, serials, mode: .dryRun)
        #expect(dry.items.map(\.result) == [.assigned, .assigned])
        #expect(try f.assign(tenant, app, serials).items.map(\.result) == [.assigned, .assigned])
    }

    @Test func theCacheKeepsToItsBoundAndLargeTenantsAreLookedUpInSQL() throws {
        let f = try LedgerFixture()
        f.ledger.deviceCache.devicesMax = 4
        var tenants: [(Tenant, [String])] = []
        for (index, slug) in ["small-a", "small-b", "large"].enumerated() {
            let tenant = try f.tenant(slug)
            let token = try f.token(tenant, uid: "200\(index)")
            try f.snapshot(tenant, token, [(app, total: 100, apple: 0)])
            tenants.append((tenant, try f.devices(tenant, prefix: "T\(index)X", count: slug == "large" ? 6 : 3)))
        }
        let (a, aSerials) = tenants[0], (b, bSerials) = tenants[1], (large, largeSerials) = tenants[2]
        #expect(try f.assign(a, app, aSerials).items.allSatisfy { $0.result == .assigned })
        #expect(f.ledger.deviceCache.cachedTenants == [a.id])
        // b does not fit beside a: the least recently used tenant makes room.
        #expect(try f.assign(b, app, bSerials + [aSerials[0]]).items.map(\.result) == [.assigned, .assigned, .assigned, .unknownDevice])
        #expect(f.ledger.deviceCache.cachedTenants == [b.id])
        // Larger than the bound: not cached, answered from SQL.
        let outcome = try f.assign(large, app, largeSerials + [bSerials[0]])
        #expect(outcome.items.map(\.result) == Array(repeating: .assigned, count: 6) + [.unknownDevice])
        #expect(f.ledger.deviceCache.cachedTenants == [b.id])
        _ = try f.ledger.retireDevices(tenant: large.id, serials: [largeSerials[0]])
        #expect(try f.assign(large, app, [largeSerials[0]]).items.map(\.result) == [.unknownDevice])
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }
}
