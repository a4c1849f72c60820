import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Invariant 3: tenants are sealed. Tenant A can neither see nor change anything of tenant B.
@Suite(.timeLimit(.minutes(5))) struct TenantIsolationTests {
    let shared = AssetKey(adamId: "361309726")
    let onlyB = AssetKey(adamId: "409183694")

    struct TwoTenants {
        let f: LedgerFixture
        let a: Tenant, b: Tenant
        let tokenA: TokenID, tokenB: TokenID
        let serialsA: [String], serialsB: [String]
    }

    func twoTenants(_ backend: TestBackend, _ label: String = #function) throws -> TwoTenants {
        let f = try LedgerFixture(backend, label)
        let a = try f.tenant("tenant-a")
        let b = try f.tenant("tenant-b")
        let tokenA = try f.token(a, uid: "A-1001")
        let tokenB = try f.token(b, uid: "B-2001")
        try f.snapshot(a, tokenA, [(shared, total: 10, apple: 0)])
        try f.snapshot(b, tokenB, [(shared, total: 10, apple: 0), (onlyB, total: 10, apple: 0)])
        let serialsA = try f.devices(a, prefix: "AAA", count: 3)
        let serialsB = try f.devices(b, prefix: "BBB", count: 3)
        _ = try f.assign(b, shared, serialsB)
        _ = try f.assign(b, onlyB, serialsB)
        return TwoTenants(f: f, a: a, b: b, tokenA: tokenA, tokenB: tokenB, serialsA: serialsA, serialsB: serialsB)
    }

    @Test(arguments: TestBackend.all) func tenantASeesNoneOfBsDevicesAssetsTokensOrEvents(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let l = t.f.ledger
        #expect(try l.devices(tenant: t.a.id).map(\.serialNumber) == t.serialsA)
        #expect(try l.activeSerials(tenant: t.a.id) == t.serialsA)
        #expect(try l.tokens(tenant: t.a.id).map(\.id) == [t.tokenA])
        #expect(try l.token(tenant: t.a.id, String(t.tokenB.rawValue)) == nil)
        #expect(try l.token(tenant: t.a.id, "B-2001") == nil)
        #expect(throws: AllotError.self) { try l.requireToken(tenant: t.a.id, "B-2001") }
        let pools = try l.mergedPools(tenant: t.a.id)
        #expect(pools.map(\.adamId) == [shared.adamId])
        #expect(pools.first?.assigned == 0)
        #expect(pools.first?.tokens.map(\.id) == [t.tokenA])
        #expect(try l.overAllocations(tenant: t.a.id) == [])
        #expect(try l.events(tenant: t.a.id, limit: 1000).allSatisfy { $0.tokenId == nil || $0.tokenId == t.tokenA })
        #expect(try l.events(tenant: t.a.id, kind: "assign_batch").isEmpty)
    }

    @Test(arguments: TestBackend.all) func batchesNamingBsSerialsGetUnknownDeviceAndBsAppsGetUnknownApp(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let before = try t.f.contents()
        let items = t.serialsB.map { BatchItem(asset: shared, serial: $0) } + [BatchItem(asset: onlyB, serial: t.serialsA[0])]
        for direction in [BatchDirection.assign, .revoke] {
            let outcome = try Workflows(t.f.ledger).runBatch(tenant: t.a, direction: direction, items: items, mode: .allOrNothing)
            #expect(outcome.items.map(\.result) == [.unknownDevice, .unknownDevice, .unknownDevice, .unknownApp])
            #expect(outcome.committed == false)
        }
        #expect(try t.f.contents() == before)
        // In partial mode the batch is recorded for A, but nothing of B moves.
        let b = try t.f.ledger.devices(tenant: t.b.id)
        _ = try Workflows(t.f.ledger).runBatch(tenant: t.a, direction: .revoke, items: items)
        #expect(try t.f.ledger.devices(tenant: t.b.id) == b)
        #expect(try t.f.pool(t.tokenB, shared)?.here == 3)
        #expect(try t.f.count("assignments", where: "tenant_id = \(t.b.id.rawValue)") == 6)
        #expect(try ledgerInvariantViolations(t.f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func tenantACannotRetireBsDevices(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let before = try t.f.contents()
        let error = #expect(throws: AllotError.self) { try t.f.ledger.retireDevices(tenant: t.a.id, serials: [t.serialsB[0]]) }
        #expect(error?.code == .notFound)
        // Mixed with A's own: refused whole.
        #expect(throws: AllotError.self) { try t.f.ledger.retireDevices(tenant: t.a.id, serials: [t.serialsA[0], t.serialsB[0]]) }
        #expect(try t.f.contents() == before)
    }

    @Test(arguments: TestBackend.all) func tenantACannotChangeBsTokens(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let l = t.f.ledger
        let before = try t.f.contents()
        #expect(throws: AllotError.self) { try l.setTokenState(tenant: t.a.id, token: t.tokenB, .revoked, reason: "test") }
        let snapshot = #expect(throws: AllotError.self) {
            try l.applySnapshot(tenant: t.a.id, token: t.tokenB, assets: [SnapshotAsset(asset: shared, total: 0, appleAssigned: 0)])
        }
        #expect(snapshot?.code == .notFound)
        #expect(try t.f.contents() == before)

        let renew = #expect(throws: AllotError.self) {
            try l.renewToken(tenant: t.a.id, token: t.tokenB, secret: [9], expiresAt: 1, orgName: "Evil", locationName: "Evil")
        }
        #expect(renew?.code == .notFound)
        let remove = #expect(throws: AllotError.self) { try l.removeToken(tenant: t.a.id, token: t.tokenB, state: .removed) }
        #expect(remove?.code == .notFound)
        #expect(try t.f.contents() == before)
        try l.setTokenPriority(tenant: t.a.id, token: t.tokenB, 9)  // matches no row of A's: a no-op

        let tokenB = try #require(try l.tokens(tenant: t.b.id).first)
        #expect(tokenB.state == .active)
        #expect(tokenB.priority == 0)
        #expect(tokenB.orgName == "Org")
        #expect(try l.tokenSecret(token: t.tokenB) == Array("secret-B-2001".utf8))
        #expect(try t.f.pool(t.tokenB, shared) == PoolCounts(total: 10, here: 3, elsewhere: 0))
        #expect(try t.f.pool(t.tokenB, onlyB) == PoolCounts(total: 10, here: 3, elsewhere: 0))
        #expect(try l.mergedPools(tenant: t.b.id).count == 2)
        #expect(try t.f.count("assignments", where: "tenant_id = \(t.b.id.rawValue)") == 6)
        // And A's own assets are untouched by the attempt.
        #expect(try l.mergedPools(tenant: t.a.id).map(\.adamId) == [shared.adamId])
        #expect(try ledgerInvariantViolations(l.database) == [])
    }

    @Test(arguments: TestBackend.all) func aLocationHeldByBIsRefusedForA(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let before = try t.f.contents()
        let error = #expect(throws: AllotError.self) { try t.f.token(t.a, uid: "B-2001") }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("another tenant") == true)
        #expect(try t.f.contents() == before)
        // B adding it again is told to renew instead.
        let again = #expect(throws: AllotError.self) { try t.f.token(t.b, uid: "B-2001") }
        #expect(again?.code == .conflict)
        #expect(again?.message.contains("renew") == true)
    }

    @Test(arguments: TestBackend.all) func registeringTheSameSerialInTwoTenantsMakesTwoDevices(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let report = try t.f.ledger.registerDevices(tenant: t.a.id, [DeviceInput(serial: SerialNumber(t.serialsB[0])!, name: "A's")])
        #expect(report.imported == 1)
        #expect(try t.f.ledger.devices(tenant: t.b.id).first?.name == nil)
        // Assigning it in A spends A's licence and leaves B's assignment alone.
        #expect(try t.f.assign(t.a, shared, [t.serialsB[0]]).items.map(\.tokenId) == [t.tokenA])
        #expect(try t.f.pool(t.tokenB, shared)?.here == 3)
        _ = try t.f.ledger.retireDevices(tenant: t.a.id, serials: [t.serialsB[0]])
        #expect(try t.f.ledger.devices(tenant: t.b.id).allSatisfy { !$0.retired })
        #expect(try t.f.pool(t.tokenB, shared)?.here == 3)
        #expect(try ledgerInvariantViolations(t.f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func theSchemaRefusesARowJoiningTwoTenants(_ backend: TestBackend) throws {
        let t = try twoTenants(backend)
        let deviceA = try #require(try t.f.ledger.devices(tenant: t.a.id).first)
        let assetB = try #require(try t.f.ledger.database.queryFirst(
            "SELECT id FROM assets WHERE tenant_id = ?", [.integer(t.b.id.rawValue)]) { $0.int64(0) })
        let error = #expect(throws: (any Error).self) {
            try t.f.ledger.database.run("INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, batch_id) VALUES (?, ?, ?, ?, 1)",
                                        [.integer(t.a.id.rawValue), .integer(assetB), .integer(deviceA.id.rawValue), .integer(t.tokenA.rawValue)])
        }
        // A constraint refused it, on either engine.
        #expect((error as? SQLiteError)?.isConstraint == true || (error as? PostgresFailure)?.isConstraint == true, "\(String(describing: error))")
    }
}
