import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// People in the ledger: their roster, their licences from the same merged pools as the
/// devices', their registration at each location through the outbox. On SQLite and PostgreSQL.
@Suite(.timeLimit(.minutes(3))) struct UserLedgerTests {
    let app = AssetKey(adamId: "361309726", pricingParam: .standard)
    let book = AssetKey(adamId: "1500000001", pricingParam: .standard)

    private func importUsers(_ fixture: LedgerFixture, _ tenant: Tenant, _ csv: String) throws -> ImportReport {
        try fixture.ledger.importUsers(tenant: tenant.id, csv: Array(csv.utf8))
    }

    private func assign(_ fixture: LedgerFixture, _ tenant: Tenant, _ asset: AssetKey, _ users: [String], mode: BatchMode = .partial,
                        key: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        try Workflows(fixture.ledger).runUserBatch(tenant: tenant, direction: .assign, items: users.map { UserItem(asset: asset, userId: $0) },
                                                   mode: mode, idempotencyKey: key, queue: queue)
    }

    private func revoke(_ fixture: LedgerFixture, _ tenant: Tenant, _ asset: AssetKey, _ users: [String]) throws -> UserBatchOutcome {
        try Workflows(fixture.ledger).runUserBatch(tenant: tenant, direction: .revoke, items: users.map { UserItem(asset: asset, userId: $0) })
    }

    /// The user operations in commit order: "kind token ids".
    private func userOperations(_ fixture: LedgerFixture) throws -> [String] {
        try fixture.ledger.operations(tenant: nil).filter { $0.subject == .users }.map { "\($0.kind.rawValue) \($0.tokenId) \($0.serials.joined(separator: ","))" }
    }

    @Test(arguments: TestBackend.all)
    func theRosterImportsWithAliasesRejectsBadLinesAndUpdates(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userroster\(backend)")
        let tenant = try fixture.tenant("school")
        let report = try importUsers(fixture, tenant, """
            User ID;Email Address;Managed Apple Account;Group
            alice;alice@school.example;alice@appleid.school.example;teachers
            bob;bob@school.example;;teachers
            ;nobody@school.example;;x
            carol;not-an-address;;students
            alice;alice2@school.example;alice@appleid.school.example;teachers
            """)
        #expect(report.imported == 2)
        #expect(report.rejected.map(\.line) == [4, 5])
        let users = try fixture.ledger.users(tenant: tenant.id)
        #expect(users.map(\.userId) == ["alice", "bob"])
        #expect(users[0].email == "alice2@school.example")
        #expect(users[0].managedAppleId == "alice@appleid.school.example")
        #expect(users[1].managedAppleId == nil)
        #expect(Set(users.map(\.clientUserId)).count == 2)

        // Without the email column, the email stays; the group changes.
        let again = try importUsers(fixture, tenant, "user_id,group\nbob,staff\n")
        #expect(again.updated == 1 && again.imported == 0)
        let bob = try fixture.ledger.user(tenant: tenant.id, userId: "bob").user
        #expect(bob.email == "bob@school.example" && bob.group == "staff")

        #expect(throws: AllotError.self) { try importUsers(fixture, tenant, "email\nx@y.z\n") }
        #expect(try fixture.ledger.events(tenant: tenant.id, limit: 10).contains { $0.kind == EventKind.usersImported.rawValue })
    }

    @Test(arguments: TestBackend.all)
    func devicesAndUsersShareOnePoolAndAPersonHoldsOneLicenceWhateverTheLocations(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userpool\(backend)")
        let tenant = try fixture.tenant("school")
        let first = try fixture.token(tenant, uid: "loc-a")
        let second = try fixture.token(tenant, uid: "loc-b")
        try fixture.snapshot(tenant, first, [(app, total: 2, apple: 0)])
        try fixture.snapshot(tenant, second, [(app, total: 2, apple: 0)])
        let serials = try fixture.devices(tenant, prefix: "DEV", count: 2)
        _ = try importUsers(fixture, tenant, "user_id\nann\nben\ncid\n")

        #expect(try fixture.assign(tenant, app, serials).counts == ["assigned": 2])
        let users = try assign(fixture, tenant, app, ["ann", "ben", "cid"])
        // Four licences in all: two devices, two people; the third person finds none.
        #expect(users.items.map(\.result) == [.assigned, .assigned, .noLicense])
        #expect(try fixture.merged(tenant, app)?.available == 0)
        #expect(try ledgerInvariantViolations(fixture.ledger.database) == [])

        // Again: already held, from whichever location; nothing spent.
        #expect(try assign(fixture, tenant, app, ["ann", "ben"]).items.map(\.result) == [.alreadyAssigned, .alreadyAssigned])
        #expect(try fixture.count("user_assignments") == 2)

        // Each person was registered once, at the location of the token that lends them the
        // licence, before their association there.
        let operations = try userOperations(fixture)
        #expect(operations.count == 4 || operations.count == 3)
        for user in try fixture.ledger.users(tenant: tenant.id) where user.userId != "cid" {
            let mine = operations.filter { $0.hasSuffix(user.clientUserId) || $0.contains(user.clientUserId) }
            #expect(mine.count == 2)
            #expect(mine.first?.hasPrefix("register_users") == true)
            #expect(mine.last?.hasPrefix("associate") == true)
        }
        let shown = try fixture.ledger.user(tenant: tenant.id, userId: "ann")
        #expect(shown.locations.map(\.status) == [.registering])
        #expect(shown.holdings.count == 1)

        // A revoke frees the licence for the third person, who is then registered too.
        #expect(try revoke(fixture, tenant, app, ["ann"]).items.map(\.result) == [.revoked])
        #expect(try assign(fixture, tenant, app, ["cid"]).items.map(\.result) == [.assigned])
        #expect(try ledgerInvariantViolations(fixture.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all)
    func booksGoToPeopleNotToDevices(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userbooks\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        _ = try fixture.ledger.applySnapshot(tenant: tenant.id, token: token, assets: [
            SnapshotAsset(asset: book, productType: "Book", deviceAssignable: false, total: 5, appleAssigned: 0),
        ])
        let serials = try fixture.devices(tenant, prefix: "DEV", count: 1)
        _ = try importUsers(fixture, tenant, "user_id\nann\n")
        #expect(try fixture.assign(tenant, book, serials).items.map(\.result) == [.notDeviceAssignable])
        #expect(try assign(fixture, tenant, book, ["ann"]).items.map(\.result) == [.assigned])
    }

    @Test(arguments: TestBackend.all)
    func unknownRetiredAndInvalidUsersAreItemFailures(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userfail\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        try fixture.snapshot(tenant, token, [(app, total: 5, apple: 0)])
        _ = try importUsers(fixture, tenant, "user_id\nann\nben\n")
        _ = try fixture.ledger.retireUsers(tenant: tenant.id, userIds: ["ben"])
        let outcome = try assign(fixture, tenant, app, ["ann", "ben", "zed", "  "])
        #expect(outcome.items.map(\.result) == [.assigned, .unknownUser, .unknownUser, .invalidUserId])
        #expect(outcome.committed && outcome.failedCount == 3)
        let other = AssetKey(adamId: "999", pricingParam: .standard)
        #expect(try assign(fixture, tenant, other, ["ann"]).items.map(\.result) == [.unknownApp])
    }

    @Test(arguments: TestBackend.all)
    func dryRunAllOrNothingAndIdempotencyKeysAsForDevices(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "usermodes\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        try fixture.snapshot(tenant, token, [(app, total: 1, apple: 0)])
        _ = try importUsers(fixture, tenant, "user_id\nann\nben\n")
        let before = try fixture.contents()
        let dry = try assign(fixture, tenant, app, ["ann", "ben"], mode: .dryRun)
        #expect(dry.items.map(\.result) == [.assigned, .noLicense] && !dry.committed && dry.batchId == nil)
        let refused = try assign(fixture, tenant, app, ["ann", "ben"], mode: .allOrNothing)
        #expect(!refused.committed)
        #expect(try fixture.contents() == before)

        let first = try assign(fixture, tenant, app, ["ann"], key: "k1")
        let again = try assign(fixture, tenant, app, ["ann"], key: "k1")
        #expect(first == again && first.items.map(\.result) == [.assigned])
        #expect(throws: AllotError.self) { try assign(fixture, tenant, app, ["ben"], key: "k1") }
        // A device batch's key is not a user batch's.
        _ = try fixture.devices(tenant, prefix: "DEV", count: 1)
        _ = try fixture.assign(tenant, app, [testSerial("DEV", 0)], key: "k2")
        #expect(throws: AllotError.self) { try assign(fixture, tenant, app, ["ben"], key: "k2") }
        #expect(throws: AllotError.self) { try fixture.assign(tenant, app, [testSerial("DEV", 0)], key: "k1") }
    }

    @Test(arguments: TestBackend.all)
    func queuedUsersAreServedWhenALicenceIsGivenBack(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userqueue\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        try fixture.snapshot(tenant, token, [(app, total: 1, apple: 0)])
        _ = try importUsers(fixture, tenant, "user_id\nann\nben\n")
        #expect(try assign(fixture, tenant, app, ["ann", "ben"], queue: true).items.map(\.result) == [.assigned, .queued])
        #expect(try fixture.ledger.userWaitingCount(tenant: tenant.id) == 1)
        #expect(try revoke(fixture, tenant, app, ["ann"]).items.map(\.result) == [.revoked])
        #expect(try fixture.ledger.userWaitingCount(tenant: tenant.id) == 0)
        #expect(try fixture.ledger.user(tenant: tenant.id, userId: "ben").holdings.count == 1)
        #expect(try ledgerInvariantViolations(fixture.ledger.database) == [])
    }

    @Test(arguments: TestBackend.all)
    func retiringUsersGivesTheirLicencesBackThenRetiresThemAtEachLocation(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "userretire\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        try fixture.snapshot(tenant, token, [(app, total: 3, apple: 0), (book, total: 3, apple: 0)])
        _ = try importUsers(fixture, tenant, "user_id\nann\n")
        _ = try assign(fixture, tenant, app, ["ann"])
        _ = try assign(fixture, tenant, book, ["ann"])
        let report = try fixture.ledger.retireUsers(tenant: tenant.id, userIds: ["ann"])
        #expect(report.revoked == 2 && report.users == ["ann"])
        #expect(try fixture.count("user_assignments") == 0)
        #expect(try fixture.pool(token, app)?.here == 0)
        let kinds = try userOperations(fixture).map { String($0.split(separator: " ")[0]) }
        #expect(kinds == ["register_users", "associate", "associate", "disassociate", "disassociate", "retire_users"])
        let ann = try fixture.ledger.user(tenant: tenant.id, userId: "ann")
        #expect(ann.user.retired && ann.locations.map(\.status) == [.retiring])
        #expect(throws: AllotError.self) { try fixture.ledger.retireUsers(tenant: tenant.id, userIds: ["nobody"]) }

        // Imported again: managed again, under a new clientUserId (Apple keeps the old one retired).
        _ = try importUsers(fixture, tenant, "user_id\nann\n")
        let back = try fixture.ledger.user(tenant: tenant.id, userId: "ann")
        #expect(!back.user.retired && back.user.clientUserId != ann.user.clientUserId && back.locations.isEmpty)
    }

    @Test(arguments: TestBackend.all)
    func userOperationsSplitToApplesUserLimitsAndReadBackWithTheirSubject(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "usersplit\(backend)")
        let tenant = try fixture.tenant("school")
        let token = try fixture.token(tenant, uid: "loc-a")
        try fixture.snapshot(tenant, token, [(app, total: 30, apple: 0)])
        let ids = (0..<25).map { "user\($0)" }
        _ = try importUsers(fixture, tenant, "user_id\n" + ids.joined(separator: "\n"))
        _ = try assign(fixture, tenant, app, ids)
        try fixture.ledger.splitOversizedOperations(serialsMax: 1_000, clientUserIdsMax: 10, revokeClientUserIdsMax: 3, usersMax: 10)
        let operations = try fixture.ledger.operations(tenant: nil)
        #expect(operations.allSatisfy { $0.subject == .users && $0.serials.count <= 10 })
        #expect(operations.filter { $0.kind == .registerUsers }.map(\.serials.count) == [10, 10, 5])
        #expect(operations.filter { $0.kind == .associate }.map(\.serials.count) == [10, 10, 5])
        // Registrations keep their place before the associations in commit order.
        let orders = operations.map { ($0.kind, $0.order) }
        #expect(orders.filter { $0.0 == .registerUsers }.map(\.1).max()! < orders.filter { $0.0 == .associate }.map(\.1).min()!)
    }
}
