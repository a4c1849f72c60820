import Allot
import AllotCore
@testable import AllotStore
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct LedgerScenarioTests {
    let app = AssetKey(adamId: "361309726")
    let otherApp = AssetKey(adamId: "284882215", pricingParam: .plus)

    // MARK: The merged pool

    @Test(arguments: TestBackend.all) func oneAppInTwoTokensShowsOnceWithTheCombinedCountAndLicencesComeFromEither(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let first = try f.token(tenant, uid: "1001")
        let second = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, first, [(app, total: 3, apple: 0)])
        try f.snapshot(tenant, second, [(app, total: 4, apple: 1)])
        let serials = try f.devices(tenant, prefix: "MRG", count: 6)

        let pools = try f.ledger.mergedPools(tenant: tenant.id)
        #expect(pools.count == 1)
        let pool = try #require(pools.first)
        #expect(pool.total == 7)
        #expect(pool.assigned == 1)
        #expect(pool.available == 6)
        #expect(Set(pool.tokens.map(\.id)) == [first, second])

        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.items.allSatisfy { $0.result == .assigned })
        let used = Set(outcome.items.compactMap(\.tokenId))
        #expect(used == [first, second])
        #expect(try f.pool(first, app)?.here == 3)
        #expect(try f.pool(second, app)?.here == 3)
        let after = try #require(try f.merged(tenant, app))
        #expect(after.assigned == 7)
        #expect(after.available == 0)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func theEleventhDeviceOnATenLicencePoolGetsNoLicense(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "TEN", count: 11)

        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.items.prefix(10).allSatisfy { $0.result == .assigned && $0.tokenId == token })
        #expect(outcome.items[10].result == .noLicense)
        #expect(outcome.counts == ["assigned": 10, "no_license": 1])
        #expect(try f.pool(token, app)?.here == 10)
        #expect(try f.count("assignments") == 10)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func assigningTwiceSpendsOneLicence(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 5, apple: 0)])
        let serials = try f.devices(tenant, prefix: "TWC", count: 2)

        #expect(try f.assign(tenant, app, serials).counts == ["assigned": 2])
        // Repeated, lowercased and padded: the same devices.
        let again = try f.assign(tenant, app, serials.map { " \($0.lowercased()) " } + [serials[0]])
        #expect(again.items.map(\.result) == [.alreadyAssigned, .alreadyAssigned, .alreadyAssigned])
        #expect(again.items.allSatisfy { $0.tokenId == nil })
        #expect(try f.pool(token, app)?.here == 2)
        #expect(try f.count("assignments") == 2)
        // The repeat has nothing to tell Apple.
        #expect(try f.count("outbox", where: "batch_id = \(again.batchId!.rawValue)") == 0)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func revokeReturnsTheLicenceToTheTokenItCameFrom(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let first = try f.token(tenant, uid: "1001")
        let second = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, first, [(app, total: 2, apple: 0)])
        try f.snapshot(tenant, second, [(app, total: 2, apple: 0)])
        let serials = try f.devices(tenant, prefix: "REV", count: 4)
        let assigned = try f.assign(tenant, app, serials)
        let tokenOf = Dictionary(uniqueKeysWithValues: assigned.items.map { ($0.serialNumber, $0.tokenId!) })
        #expect(Set(tokenOf.values) == [first, second])

        let fromSecond = serials.filter { tokenOf[$0] == second }
        let revoked = try f.revoke(tenant, app, [fromSecond[0]])
        #expect(revoked.items.map(\.result) == [.revoked])
        #expect(revoked.items[0].tokenId == second)
        #expect(try f.pool(second, app)?.here == 1)
        #expect(try f.pool(first, app)?.here == 2)
        // Revoking again: nothing held, nothing moves.
        let again = try f.revoke(tenant, app, [fromSecond[0]])
        #expect(again.items.map(\.result) == [.notAssigned])
        #expect(try f.pool(second, app)?.here == 1)
        // The freed licence is the next one handed out.
        let reassigned = try f.assign(tenant, app, [fromSecond[0]])
        #expect(reassigned.items.map(\.tokenId) == [second])
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    // MARK: Unusable tokens

    @Test(arguments: [TokenState.expired, .revoked, .claimedElsewhere, .invalid, .removed], TestBackend.all)
    func aTokenInAnUnusableStateGivesNothingNewButKeepsItsAssignmentsCounted(state: TokenState, backend: TestBackend) throws {
        let f = try LedgerFixture(backend, "unusableState\(state.rawValue)")
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "UNU", count: 5)
        #expect(try f.assign(tenant, app, Array(serials.prefix(3))).counts == ["assigned": 3])

        try f.ledger.setTokenState(tenant: tenant.id, token: token, state, ownerName: state == .claimedElsewhere ? "Other MDM" : nil, reason: "test")
        try checkUnusable(f, tenant: tenant, token: token, serials: serials)
    }

    @Test(arguments: TestBackend.all) func aTokenPastItsExpiryGivesNothingNewButKeepsItsAssignmentsCounted(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001", expiresInDays: 2)
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "EXP", count: 5)
        #expect(try f.assign(tenant, app, Array(serials.prefix(3))).counts == ["assigned": 3])

        f.clock.now += 3 * dayInSeconds  // the state still says active; the date has passed
        #expect(try f.ledger.tokens(tenant: tenant.id).first?.state == .active)
        try checkUnusable(f, tenant: tenant, token: token, serials: serials)
    }

    private func checkUnusable(_ f: LedgerFixture, tenant: Tenant, token: TokenID, serials: [String]) throws {
        let outcome = try f.assign(tenant, app, Array(serials.suffix(2)))
        #expect(outcome.items.map(\.result) == [.noLicense, .noLicense])
        // Those it holds stay held: assigning them again is idempotent, not a refusal.
        #expect(try f.assign(tenant, app, [serials[0]]).items.map(\.result) == [.alreadyAssigned])
        #expect(try f.pool(token, app)?.here == 3)
        let merged = try #require(try f.merged(tenant, app))
        #expect(merged.total == 0)
        #expect(merged.available == 0)
        #expect(merged.assignedOnUnusableTokens == 3)
        let share = try #require(merged.tokens.first)
        #expect(share.usable == false)
        #expect(share.assignedHere == 3)
        // A revoke still takes back what an unusable token supplied.
        let revoked = try f.revoke(tenant, app, [serials[1]])
        #expect(revoked.items.map(\.result) == [.revoked])
        #expect(revoked.items[0].tokenId == token)
        #expect(try f.pool(token, app)?.here == 2)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func aTokenUsableAgainSuppliesLicencesAgain(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "AGN", count: 2)
        try f.ledger.setTokenState(tenant: tenant.id, token: token, .revoked, reason: "Apple 9625")
        #expect(try f.assign(tenant, app, serials).counts == ["no_license": 2])
        try f.ledger.renewToken(tenant: tenant.id, token: token, secret: [1, 2, 3], expiresAt: f.clock.now + 100 * dayInSeconds,
                                orgName: "Org", locationName: "Main")
        // The engine moves the state on renewal (TokenLife); the ledger only stores it.
        try f.ledger.setTokenState(tenant: tenant.id, token: token, try #require(TokenLife.next(.revoked, on: .renewed)), reason: "renewed")
        #expect(try f.assign(tenant, app, serials).counts == ["assigned": 2])
    }

    // MARK: Policies

    @Test(arguments: TestBackend.all) func latestExpiryTakesFromTheTokenThatExpiresLast(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield", policy: .latestExpiry)
        let soon = try f.token(tenant, uid: "1001", expiresInDays: 40)
        let late = try f.token(tenant, uid: "1002", expiresInDays: 400)
        let middle = try f.token(tenant, uid: "1003", expiresInDays: 200)
        try f.snapshot(tenant, soon, [(app, total: 50, apple: 0)])   // most free, but expires first
        try f.snapshot(tenant, late, [(app, total: 2, apple: 0)])
        try f.snapshot(tenant, middle, [(app, total: 3, apple: 0)])
        let serials = try f.devices(tenant, prefix: "LEX", count: 7)
        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.items.map(\.tokenId) == [late, late, middle, middle, middle, soon, soon])
    }

    @Test(arguments: TestBackend.all) func priorityTakesFromTheAdminsOrderThenTheLowestId(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield", policy: .priority)
        let third = try f.token(tenant, uid: "1001", expiresInDays: 900, priority: 5)
        let first = try f.token(tenant, uid: "1002", expiresInDays: 40, priority: 1)
        let second = try f.token(tenant, uid: "1003", expiresInDays: 40, priority: 1)
        try f.snapshot(tenant, third, [(app, total: 50, apple: 0)])
        try f.snapshot(tenant, first, [(app, total: 2, apple: 1)])   // one of its two in use elsewhere
        try f.snapshot(tenant, second, [(app, total: 2, apple: 0)])
        let serials = try f.devices(tenant, prefix: "PRI", count: 5)
        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.items.map(\.tokenId) == [first, second, second, third, third])

        // The admin reorders: the next licence follows the new order.
        try f.ledger.setTokenPriority(tenant: tenant.id, token: third, 0)
        let more = try f.devices(tenant, prefix: "PRJ", count: 1)
        #expect(try f.assign(tenant, app, more).items.map(\.tokenId) == [third])
    }

    @Test(arguments: TestBackend.all) func mostAvailableTakesFromTheTokenWithMostFreeLicences(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let small = try f.token(tenant, uid: "1001")
        let large = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, small, [(app, total: 3, apple: 0)])
        try f.snapshot(tenant, large, [(app, total: 5, apple: 0)])
        let serials = try f.devices(tenant, prefix: "MAV", count: 4)
        // 3 vs 5, 3 vs 4, 3 vs 3 (tie: same expiry, lowest id), then 2 vs 3.
        #expect(try f.assign(tenant, app, serials).items.map(\.tokenId) == [large, large, small, large])
    }

    // MARK: Modes

    @Test(arguments: TestBackend.all) func dryRunReportsExactlyWhatARealRunWouldAndWritesNothing(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let first = try f.token(tenant, uid: "1001")
        let second = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, first, [(app, total: 2, apple: 0)])
        try f.snapshot(tenant, second, [(app, total: 3, apple: 1)])
        let serials = try f.devices(tenant, prefix: "DRY", count: 6)
        _ = try f.assign(tenant, app, [serials[0]])
        let items = serials + ["NOTREGISTERED1", "bad!", serials[1]]

        let before = try f.contents()
        let dry = try f.assign(tenant, app, items, mode: .dryRun)
        #expect(try f.contents() == before)
        #expect(dry.committed == false)
        #expect(dry.batchId == nil)

        let real = try f.assign(tenant, app, items)
        #expect(real.committed)
        #expect(dry.items == real.items)
        #expect(dry.counts == real.counts)

        let dryRevoke = try f.revoke(tenant, app, items, mode: .dryRun)
        let afterAssign = try f.contents()
        let realRevoke = try f.revoke(tenant, app, items)
        #expect(dryRevoke.items == realRevoke.items)
        #expect(try f.contents() != afterAssign)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func allOrNothingWithOneBadItemCommitsNothing(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "AON", count: 5)

        let before = try f.contents()
        let outcome = try f.assign(tenant, app, serials + ["UNKNOWNSERIAL9"], mode: .allOrNothing)
        #expect(outcome.committed == false)
        #expect(outcome.batchId == nil)
        #expect(outcome.counts == ["assigned": 5, "unknown_device": 1])
        #expect(try f.contents() == before)

        // Without the bad item it commits whole.
        let good = try f.assign(tenant, app, serials, mode: .allOrNothing)
        #expect(good.committed)
        #expect(try f.pool(token, app)?.here == 5)
        // A pool too small for the whole batch: nothing at all.
        let more = try f.devices(tenant, prefix: "AOM", count: 6)
        let tooMany = try f.assign(tenant, app, more, mode: .allOrNothing)
        #expect(tooMany.committed == false)
        #expect(tooMany.counts == ["assigned": 5, "no_license": 1])
        #expect(try f.pool(token, app)?.here == 5)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    // MARK: Idempotency

    @Test(arguments: TestBackend.all) func anIdempotencyKeyReturnsTheFirstAnswerAndSpendsNothingTwice(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "IDM", count: 4)

        let first = try f.assign(tenant, app, serials, key: "req-42")
        let after = try f.contents()
        let repeated = try f.assign(tenant, app, serials, key: "req-42")
        #expect(repeated == first)
        #expect(repeated.items.allSatisfy { $0.result == .assigned })
        #expect(try f.contents() == after)
        #expect(try f.pool(token, app)?.here == 4)

        // A different body under the same key is refused, not answered with the first answer
        // (the client's second intent would be lost without a word), and changes nothing.
        let more = try f.devices(tenant, prefix: "IDN", count: 2)
        let beforeOther = try f.contents()
        let refused = #expect(throws: AllotError.self) { try f.assign(tenant, app, more, key: "req-42") }
        #expect(refused?.code == .idempotencyKeyReused)
        #expect(refused?.message.contains("req-42") == true)
        #expect(try f.contents() == beforeOther)
        #expect(try f.pool(token, app)?.here == 4)
        // So is the same body in another mode.
        #expect(throws: AllotError.self) { try f.assign(tenant, app, serials, mode: .allOrNothing, key: "req-42") }

        // A key belongs to its tenant: another tenant may use the same words.
        let other = try f.tenant("shelbyville")
        let otherToken = try f.token(other, uid: "2001")
        try f.snapshot(other, otherToken, [(app, total: 1, apple: 0)])
        let otherSerials = try f.devices(other, prefix: "IDM", count: 1)
        #expect(try f.assign(other, app, otherSerials, key: "req-42").counts == ["assigned": 1])
    }

    @Test(arguments: TestBackend.all) func aKeyReusedForTheOtherDirectionIsRefused(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "KEY", count: 3)
        _ = try f.assign(tenant, app, serials, key: "k-1")
        let before = try f.contents()
        let error = #expect(throws: AllotError.self) { try f.revoke(tenant, app, serials, key: "k-1") }
        #expect(error?.code == .idempotencyKeyReused)
        #expect(try f.contents() == before)
    }

    // MARK: Snapshots

    @Test(arguments: TestBackend.all) func assignedElsewhereComesFromApplesCountAndOverAllocationIsReported(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        let report = try f.snapshot(tenant, token, [(app, total: 10, apple: 4), (otherApp, total: 1, apple: 0)])
        #expect(report.assetsAdded == 2)
        #expect(report.overAllocated == [])
        #expect(try f.pool(token, app) == PoolCounts(total: 10, here: 0, elsewhere: 4))
        let merged = try #require(try f.merged(tenant, app))
        #expect(merged.available == 6)

        let serials = try f.devices(tenant, prefix: "SNP", count: 8)
        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.counts == ["assigned": 6, "no_license": 2])

        // Apple's total falls below what is held: reported, never hidden.
        let resync = try f.snapshot(tenant, token, [(app, total: 5, apple: 4), (otherApp, total: 1, apple: 0)])
        #expect(resync.assetsAdded == 0)
        #expect(resync.overAllocated.count == 1)
        let over = try #require(resync.overAllocated.first)
        #expect(over.adamId == app.adamId)
        #expect(over.assignedHere == 6)
        #expect(over.assignedElsewhere == 4)
        #expect(over.total == 5)
        #expect(over.excess == 5)
        #expect(try f.ledger.overAllocations(tenant: tenant.id) == resync.overAllocated)
        #expect(try f.merged(tenant, app)?.overAllocated == 5)
        #expect(try f.merged(tenant, app)?.available == 0)
        // Reported in the answer; the event is the engine's `over_allocated`, once per onset.
        #expect(try f.ledger.events(tenant: tenant.id, kind: "over_allocation").isEmpty)
        // Nothing more can be assigned; a revoke still works.
        #expect(try f.assign(tenant, app, [serials[7]]).counts == ["no_license": 1])
        #expect(try f.revoke(tenant, app, [serials[0]]).counts == ["revoked": 1])
        #expect(try f.pool(token, app)?.here == 5)

        // An asset missing from the next snapshot drops to a total of zero.
        try f.snapshot(tenant, token, [(app, total: 20, apple: 0)])
        #expect(try f.pool(token, otherApp) == PoolCounts(total: 0, here: 0, elsewhere: 0))
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    // MARK: Retire and remove

    @Test(arguments: TestBackend.all) func retireGivesBackEveryLicenceAndListsTheSerials(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0), (otherApp, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "RET", count: 4)
        _ = try f.assign(tenant, app, serials)
        _ = try f.assign(tenant, otherApp, Array(serials.prefix(2)))

        let report = try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[3], serials[0].lowercased(), serials[3]])
        #expect(report.revoked == 3)
        #expect(report.devices == [serials[0], serials[3]])
        #expect(try f.pool(token, app)?.here == 2)
        #expect(try f.pool(token, otherApp)?.here == 1)
        let retired = try f.ledger.devices(tenant: tenant.id).filter(\.retired).map(\.serialNumber)
        #expect(retired == [serials[0], serials[3]])
        #expect(try f.ledger.activeSerials(tenant: tenant.id) == [serials[1], serials[2]])
        // Apple hears of it through the outbox, one operation per (token, asset).
        let ops = try f.ledger.database.query("SELECT kind, assets, serial_count FROM outbox WHERE batch_id = (SELECT max(id) FROM batches) ORDER BY assets") {
            "\($0.string(0)) \($0.string(1)) \($0.int(2))"
        }
        #expect(ops == ["disassociate \(otherApp) 1", "disassociate \(app) 2"])
        // A retired device is unknown to batches until imported again.
        #expect(try f.assign(tenant, app, [serials[0]]).counts == ["unknown_device": 1])
        _ = try f.ledger.registerDevices(tenant: tenant.id, [DeviceInput(serial: SerialNumber(serials[0])!)])
        #expect(try f.assign(tenant, app, [serials[0]]).counts == ["assigned": 1])
        // Retiring a device that holds nothing revokes nothing.
        #expect(try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[3]]) == RevocationReport())
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all) func removeTokenRevokesAllListsDevicesAndDropsAnAssetHeldByNoOtherToken(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let staying = try f.token(tenant, uid: "1001")
        let leaving = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, staying, [(app, total: 1, apple: 0)])
        try f.snapshot(tenant, leaving, [(app, total: 3, apple: 0), (otherApp, total: 5, apple: 0)])
        let serials = try f.devices(tenant, prefix: "RMV", count: 4)
        let assigned = try f.assign(tenant, app, serials)
        let onLeaving = assigned.items.filter { $0.tokenId == leaving }.map(\.serialNumber)
        #expect(onLeaving.count == 3)
        _ = try f.assign(tenant, otherApp, [serials[0]])

        let report = try f.ledger.removeToken(tenant: tenant.id, token: leaving, state: .removed)
        #expect(report.revoked == 4)
        #expect(report.devices == Set(onLeaving + [serials[0]]).sorted())
        #expect(try f.ledger.tokens(tenant: tenant.id).first { $0.id == leaving }?.state == .removed)
        #expect(try f.count("assignments", where: "token_id = \(leaving.rawValue)") == 0)
        #expect(try f.count("assignments", where: "token_id = \(staying.rawValue)") == 1)
        // otherApp was only in the removed token: it leaves the tenant; app stays through the other.
        let apps = try f.ledger.mergedPools(tenant: tenant.id).map { "\($0.adamId):\($0.pricingParam)" }
        #expect(apps == [app.description])
        #expect(try f.assign(tenant, otherApp, [serials[1]]).counts == ["unknown_app": 1])
        #expect(try f.merged(tenant, app)?.total == 1)
        // The secret stays until Apple has heard of every revocation.
        #expect(try f.ledger.tokenSecret(token: leaving) != nil)
        #expect(try f.ledger.eraseDrainedSecrets() == 0)
        try f.ledger.database.run("UPDATE outbox SET state = 'done' WHERE token_id = ?", [.integer(leaving.rawValue)])
        #expect(try f.ledger.eraseDrainedSecrets() == 1)
        #expect(try f.ledger.tokenSecret(token: leaving) == nil)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    // MARK: Outbox and events

    @Test(arguments: TestBackend.all) func outboxRowsAreWrittenPerTokenAndAssetInTheBatchTransaction(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let first = try f.token(tenant, uid: "1001")
        let second = try f.token(tenant, uid: "1002")
        try f.snapshot(tenant, first, [(app, total: 2, apple: 0), (otherApp, total: 10, apple: 0)])
        try f.snapshot(tenant, second, [(app, total: 2, apple: 0)])
        let serials = try f.devices(tenant, prefix: "OBX", count: 4)
        let items = serials.map { BatchItem(asset: app, serial: $0) } + serials.prefix(3).map { BatchItem(asset: otherApp, serial: $0) }
            + [BatchItem(asset: app, serial: serials[0])]
        let outcome = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items)
        let batch = try #require(outcome.batchId)

        struct Op: Equatable { let token: Int64, kind: String, assets: String, serials: [String], count: Int, state: String }
        let ops = try f.ledger.database.query("""
            SELECT token_id, kind, assets, s.serials, serial_count, state FROM outbox JOIN outbox_serials s ON s.operation_id = outbox.id
            WHERE batch_id = ? ORDER BY token_id, assets
            """, [.integer(batch.rawValue)]) {
            Op(token: $0.int64(0), kind: $0.string(1), assets: $0.string(2), serials: $0.string(3).split(separator: "\n").map(String.init),
               count: $0.int(4), state: $0.string(5))
        }
        let fromFirst = outcome.items.filter { $0.tokenId == first && $0.adamId == app.adamId }.map(\.serialNumber)
        let fromSecond = outcome.items.filter { $0.tokenId == second }.map(\.serialNumber)
        #expect(ops == [
            Op(token: first.rawValue, kind: "associate", assets: otherApp.description, serials: Array(serials.prefix(3)), count: 3, state: "pending"),
            Op(token: first.rawValue, kind: "associate", assets: app.description, serials: fromFirst, count: 2, state: "pending"),
            Op(token: second.rawValue, kind: "associate", assets: app.description, serials: fromSecond, count: 2, state: "pending"),
        ])
        #expect(try f.count("batches", where: "id = \(batch.rawValue) AND changed_count = 7") == 1)

        // All-or-nothing refused: no outbox row either.
        let outboxBefore = try f.count("outbox")
        _ = try f.revoke(tenant, app, [serials[0], "NOSUCHDEVICE1"], mode: .allOrNothing)
        #expect(try f.count("outbox") == outboxBefore)
        let revoke = try f.revoke(tenant, app, [serials[0]])
        let revokeOps = try f.ledger.database.query("SELECT kind, s.serials FROM outbox JOIN outbox_serials s ON s.operation_id = outbox.id WHERE batch_id = ?", [.integer(revoke.batchId!.rawValue)]) {
            "\($0.string(0)) \($0.string(1))"
        }
        #expect(revokeOps == ["disassociate \(serials[0])"])
    }

    @Test(arguments: TestBackend.all) func aBatchRecordsOneEventNotOnePerItem(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 100, apple: 0)])
        let serials = try f.devices(tenant, prefix: "EVT", count: 50)
        let before = try f.count("events")
        let outcome = try f.assign(tenant, app, serials + ["UNKNOWNSERIAL9"])
        #expect(try f.count("events") == before + 1)
        let event = try #require(try f.ledger.events(tenant: tenant.id, limit: 1).first)
        #expect(event.kind == "assign_batch")
        #expect(event.detail.contains("\"batchId\":\(outcome.batchId!.rawValue)"))
        #expect(event.detail.contains("\"items\":51"))
        _ = try f.revoke(tenant, app, serials)
        #expect(try f.count("events") == before + 2)
        #expect(try f.ledger.events(tenant: tenant.id, limit: 1).first?.kind == "revoke_batch")
        // Dry runs and refused all-or-nothing batches leave no event.
        _ = try f.assign(tenant, app, serials, mode: .dryRun)
        _ = try f.assign(tenant, app, serials + ["UNKNOWNSERIAL9"], mode: .allOrNothing)
        #expect(try f.count("events") == before + 2)
    }

    // MARK: Migrations

    @Test(arguments: TestBackend.all) func theSchemaVersionIsTheLatestMigration(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        #expect(Migrations.latestVersion >= 1)
        #expect(Migrations.postgres.map(\.name) == Migrations.all.map(\.name))
        #expect(try f.ledger.database.schemaVersion() == Migrations.latestVersion)
        // Opening again applies nothing twice.
        let again = try f.reopen()
        #expect(try again.database.schemaVersion() == Migrations.latestVersion)
        if backend == .sqlite {
            #expect(try again.database.queryFirst("PRAGMA journal_mode") { $0.string(0) } == "wal")
            #expect(try again.database.queryFirst("PRAGMA foreign_keys") { $0.int(0) } == 1)
        }
    }

    @Test(arguments: TestBackend.all) func aDatabaseWithANewerSchemaIsRefused(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        try f.ledger.database.setSchemaVersion(Migrations.latestVersion + 1)
        let error = #expect(throws: StoreError.self) { try f.reopen() }
        guard case let .schemaTooNew(_, found, known)? = error else {
            Issue.record("expected schemaTooNew, got \(String(describing: error))")
            return
        }
        #expect(found == Migrations.latestVersion + 1)
        #expect(known == Migrations.latestVersion)
        #expect(error?.description.contains("upgrade allot") == true)
    }

    // MARK: Roster import

    @Test(arguments: TestBackend.all) func rosterImportCountsImportedUpdatedAndRejectedWithLineNumbersAndReimportIsIdempotent(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let tenant = try f.tenant("springfield")
        let csv = """
            name,serial_number,group
            Alice's iPad,C02ABC12345A,grade-5
            "Bob, the iPad",c02abc12345b,grade-6
            Bad one,short,grade-5
            Too,many,fields,here
            ,C02ABC12345C,

            Dup,C02ABC12345A,grade-7

            """
        let report = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        #expect(report.imported == 3)
        #expect(report.updated == 0)
        #expect(report.rejected.map(\.line) == [4, 5])
        #expect(report.rejected[0].reason.contains("SHORT") || report.rejected[0].reason.contains("short"))
        let devices = try f.ledger.devices(tenant: tenant.id)
        #expect(devices.map(\.serialNumber) == ["C02ABC12345A", "C02ABC12345B", "C02ABC12345C"])
        #expect(devices[0].name == "Dup")         // a repeated serial: the last line wins
        #expect(devices[0].group == "grade-7")
        #expect(devices[1].name == "Bob, the iPad")
        #expect(devices[2].name == nil)

        let before = try f.ledger.devices(tenant: tenant.id)
        let again = try f.ledger.importRoster(tenant: tenant.id, csv: Array(csv.utf8))
        #expect(again.imported == 0)
        #expect(again.updated == 3)
        #expect(again.rejected == report.rejected)
        #expect(try f.ledger.devices(tenant: tenant.id) == before)
        #expect(try f.count("devices") == 3)

        // A file without the name column leaves the stored names alone.
        let serialsOnly = try f.ledger.importRoster(tenant: tenant.id, csv: Array("serial_number\r\nC02ABC12345B\r\nC02ABC12345D\r\n".utf8))
        #expect(serialsOnly.imported == 1)
        #expect(serialsOnly.updated == 1)
        #expect(try f.ledger.devices(tenant: tenant.id)[1].name == "Bob, the iPad")
    }
}
