import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Users (Apple's "Managing users") and their licences, per location.
@Suite(.timeLimit(.minutes(5))) struct SimulatorUsersTests {
    static let app = SimulatorFixture.app
    static let book = SimulatorFixture.book

    @Test func createRegistersUsersWithAnInvitationAndAManagedAppleIdAssociatesAtOnce() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let event = try await fixture.simulator.createUsers(token: token, ManageUsersRequest(users: [
            RequestUser(clientUserId: "u1", email: "u1@school.example"),
            RequestUser(clientUserId: "u2", email: "u2@school.example", managedAppleId: "u2@managed.example"),
        ]))
        #expect(event.uId == SimulatorFixture.mainCampus)
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventStatus == "COMPLETE")
        #expect(status.eventType == "CREATE")
        #expect(status.numRequested == 2)
        #expect(status.numCompleted == 2)

        let page = try await fixture.simulator.users(token: token, query: UsersQuery())
        #expect(page.users.count == 2)
        let registered = try #require(page.users.first { $0.clientUserId == "u1" })
        #expect(registered.userStatus == .registered)
        #expect(registered.inviteCode?.isEmpty == false)
        #expect(registered.idHash == nil)
        #expect(registered.email == "u1@school.example")
        let associated = try #require(page.users.first { $0.clientUserId == "u2" })
        #expect(associated.userStatus == .associated)
        #expect(associated.idHash?.isEmpty == false)

        // Users are per location: the annex knows neither.
        let annex = try await fixture.simulator.users(token: fixture.token(SimulatorFixture.annex), query: UsersQuery())
        #expect(annex.users.isEmpty)

        // The invitation URL of service config takes the code.
        let config = try await fixture.simulator.serviceConfig()
        let code = try #require(registered.inviteCode)
        let link = try #require(config.invitationURL(inviteCode: code))
        #expect(link.contains("inviteCode=\(code)&"))
        #expect(!link.contains("%25inviteCode%25"))
    }

    @Test func tooManyUsersInOneRequestIsRefusedWhole() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let limit = ServiceLimits.appleDefaults.maxUsers
        let users = (0...limit).map { RequestUser(clientUserId: "u\($0)") }
        let error = await appleError { try await fixture.simulator.createUsers(token: token, ManageUsersRequest(users: users)) }
        #expect(error?.errorNumber == AppleErrorNumber.tooManyClientUserIds)
        let duplicate = await appleError {
            try await fixture.simulator.createUsers(token: token, ManageUsersRequest(users: [RequestUser(clientUserId: "a"), RequestUser(clientUserId: "a")]))
        }
        #expect(duplicate?.errorNumber == 9704)
        let none = await appleError { try await fixture.simulator.createUsers(token: token, ManageUsersRequest(users: [])) }
        #expect(none?.errorNumber == AppleErrorNumber.invalidArgument)
        #expect(try await fixture.simulator.users(token: token, query: UsersQuery()).users.isEmpty)
        // Exactly the limit is fine.
        let full = try await fixture.simulator.createUsers(token: token, ManageUsersRequest(users: Array(users.prefix(limit))))
        #expect(try await fixture.finish(full.eventId, token: token).numCompleted == limit)
    }

    @Test func usersAssignAndCountInTheSamePoolAsDevices() async throws {
        let fixture = try SimulatorFixture(appTotal: 4)
        let token = try fixture.token()
        try await fixture.createUsers(["u1", "u2", "u3"])
        _ = try await fixture.assign([Self.app], ["S1", "S2"])
        let users = try await fixture.assignUsers([Self.app], ["u1", "u2", "u3"])
        #expect(users.eventStatus == "FAILED")
        #expect(users.numRequested == 3)
        #expect(users.numCompleted == 2)
        let failure = try #require(users.failures?.first)
        #expect(failure.errorNumber == AppleErrorNumber.notEnoughLicenses)
        #expect(failure.errorInfo?.clientUserIds == ["u3"])
        #expect(failure.errorInfo?.serialNumbers == nil)

        let asset = try await fixture.asset(Self.app)
        #expect(asset.assignedCount == 4)
        #expect(asset.availableCount == 0)
        #expect(asset.assignedCount <= asset.totalCount)
        // A device now finds the pool empty too.
        let device = try await fixture.assign([Self.app], ["S3"])
        #expect(device.failures?.first?.errorNumber == AppleErrorNumber.notEnoughLicenses)

        // GET /assignments lists both, and filters by user.
        let all = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery())
        #expect(all.size == 4)
        #expect(Set(all.assignments.compactMap(\.clientUserId)) == ["u1", "u2"])
        #expect(Set(all.assignments.compactMap(\.serialNumber)) == ["S1", "S2"])
        let one = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(clientUserId: "u1"))
        #expect(one.assignments == [WireAssignment(adamId: Self.app.adamId, pricingParam: Self.app.pricingParam, clientUserId: "u1")])
        let both = await appleError { try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(serialNumber: "S1", clientUserId: "u1")) }
        #expect(both?.errorNumber == AppleErrorNumber.invalidArgument)
    }

    @Test func pagesOfAssignmentsRunFromDevicesIntoUsers() async throws {
        let fixture = try SimulatorFixture(appTotal: 10)
        let token = try fixture.token()
        try await fixture.createUsers(["u1", "u2", "u3"])
        _ = try await fixture.assign([Self.app], ["S1", "S2"])
        _ = try await fixture.assignUsers([Self.app], ["u1", "u2", "u3"])
        try await fixture.simulator.setPageSize(2)
        var seen: [WireAssignment] = []
        var index = 0
        while true {
            let page = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(pageIndex: index))
            #expect(page.totalPages == 3)
            seen += page.assignments
            guard let next = page.nextPageIndex else { break }
            index = next
        }
        #expect(seen.count == 5)
        #expect(seen.prefix(2).allSatisfy { $0.serialNumber != nil })
        #expect(seen.suffix(3).map(\.clientUserId) == ["u1", "u2", "u3"])
    }

    @Test func booksGoToUsersThoughNeverToDevices() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.createUsers(["reader"])
        let status = try await fixture.assignUsers([Self.book], ["reader"])
        #expect(status.eventStatus == "COMPLETE")
        #expect(try await fixture.asset(Self.book).assignedCount == 1)
    }

    @Test func serialsAndUsersTogetherAreRefused() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let both = await appleError {
            try await fixture.simulator.associate(token: token, AssociationRequest(assets: [Self.app], serialNumbers: ["S1"], clientUserIds: ["u1"]))
        }
        #expect(both?.errorNumber == AppleErrorNumber.invalidArgument)
        let revokeBoth = await appleError { try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: ["S1"], clientUserIds: ["u1"])) }
        #expect(revokeBoth?.errorNumber == AppleErrorNumber.invalidArgument)
    }

    @Test func userLimitsOfAssociateAndRevokeAnswer9701() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        var limits = ServiceLimits.appleDefaults
        limits.maxClientUserIds = 3
        limits.maxRevokeClientUserIds = 2
        try await fixture.simulator.setLimits(limits)
        let ids = ["a", "b", "c", "d"]
        let associate = await appleError { try await fixture.simulator.associate(token: token, .users(ids, assets: [Self.app])) }
        #expect(associate?.errorNumber == AppleErrorNumber.tooManyClientUserIds)
        let disassociate = await appleError { try await fixture.simulator.disassociate(token: token, .users(ids, assets: [Self.app])) }
        #expect(disassociate?.errorNumber == AppleErrorNumber.tooManyClientUserIds)
        let revoke = await appleError { try await fixture.simulator.revoke(token: token, .users(["a", "b", "c"])) }
        #expect(revoke?.errorNumber == AppleErrorNumber.tooManyClientUserIds)
        let duplicate = await appleError { try await fixture.simulator.associate(token: token, .users(["a", "a"], assets: [Self.app])) }
        #expect(duplicate?.errorNumber == 9704)
        // At the limits, accepted.
        _ = try await fixture.simulator.associate(token: token, .users(["a", "b", "c"], assets: [Self.app]))
        _ = try await fixture.simulator.revoke(token: token, .users(["a", "b"]))
        // The live limits say so.
        let config = try await fixture.simulator.serviceConfig()
        #expect(config.limits.maxClientUserIds == 3)
        #expect(config.limits.maxRevokeClientUserIds == 2)
        #expect(config.limits.maxUsers == ServiceLimits.appleDefaults.maxUsers)
    }

    @Test func aUserNotRegisteredHereOrRetiredFailsWith9609() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.createUsers(["here"])
        try await fixture.createUsers(["there"], uId: SimulatorFixture.annex)
        try await fixture.createUsers(["gone"])
        try await fixture.manage(.retireUsers, ["gone"])
        let status = try await fixture.assignUsers([Self.app], ["here", "there", "gone", "nobody"])
        #expect(status.eventStatus == "FAILED")
        #expect(status.numCompleted == 1)
        let failure = try #require(status.failures?.first { $0.errorNumber == AppleErrorNumber.userNotFound })
        #expect(failure.errorMessage == "Unable to find registered user.")
        #expect(failure.errorInfo?.clientUserIds == ["there", "gone", "nobody"])
        #expect(try await fixture.asset(Self.app).assignedCount == 1)

        let token = try fixture.token()
        let disassociate = try await fixture.simulator.disassociate(token: token, .users(["nobody"], assets: [Self.app]))
        #expect(try await fixture.finish(disassociate.eventId, token: token).failures?.first?.errorNumber == AppleErrorNumber.userNotFound)
        let revoke = try await fixture.simulator.revoke(token: token, .users(["nobody"]))
        #expect(try await fixture.finish(revoke.eventId, token: token).failures?.first?.errorNumber == AppleErrorNumber.userNotFound)
    }

    @Test func retireGivesBackRevocableLicencesAndKeepsTheOthers() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.createUsers(["u1"])
        _ = try await fixture.assignUsers([Self.app, SimulatorFixture.fixedApp], ["u1"])
        #expect(try await fixture.asset(Self.app).assignedCount == 1)
        let retire = try await fixture.manage(.retireUsers, ["u1", "unknown"])
        #expect(retire.eventType == "RETIRE")
        #expect(retire.eventStatus == "FAILED")
        #expect(retire.numCompleted == 1)
        #expect(retire.failures?.first?.errorNumber == AppleErrorNumber.userNotFound)
        #expect(retire.failures?.first?.errorInfo?.clientUserIds == ["unknown"])
        #expect(try await fixture.asset(Self.app).assignedCount == 0)
        #expect(try await fixture.asset(SimulatorFixture.fixedApp).assignedCount == 1)

        // Retired users are listed unless asked not to be.
        let listed = try await fixture.simulator.users(token: token, query: UsersQuery())
        #expect(listed.users.first?.userStatus == .retired)
        #expect(try await fixture.simulator.users(token: token, query: UsersQuery(includeRetired: false)).users.isEmpty)
        // Created again, the user is registered anew.
        try await fixture.createUsers(["u1"])
        #expect(try await fixture.simulator.users(token: token, query: UsersQuery(clientUserId: "u1")).users.first?.userStatus == .registered)
    }

    @Test func revokeOfUsersTakesEveryRevocableLicence() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.createUsers(["u1", "u2"])
        _ = try await fixture.assignUsers([Self.app, Self.book, SimulatorFixture.fixedApp], ["u1", "u2"])
        let revoke = try await fixture.simulator.revoke(token: token, .users(["u1"]))
        let status = try await fixture.finish(revoke.eventId, token: token)
        #expect(status.eventStatus == "COMPLETE")
        #expect(status.eventType == "REVOKE")
        let left = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(clientUserId: "u1")).assignments
        #expect(left.map(\.adamId) == [SimulatorFixture.fixedApp.adamId])
        #expect(try await fixture.asset(Self.app).assignedCount == 1)
    }

    @Test func disassociatingAUsersNonRevocableLicenceFailsWith9706() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.createUsers(["u1"])
        _ = try await fixture.assignUsers([SimulatorFixture.fixedApp, Self.app], ["u1"])
        let event = try await fixture.simulator.disassociate(token: token, .users(["u1"], assets: [SimulatorFixture.fixedApp, Self.app]))
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventType == "DISASSOCIATE")
        #expect(status.numCompleted == 1)
        #expect(status.failures?.first?.errorNumber == AppleErrorNumber.notRevocable)
        #expect(status.failures?.first?.errorInfo?.clientUserIds == ["u1"])
    }

    @Test func anotherRegisteredUserWithTheSameAppleAccountHoldingTheAssetAnswers9616() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.createUsers(["first", "second", "stranger"])
        try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "first", appleAccount: "Pat@Example.com")
        try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "second", appleAccount: "pat@example.com")
        try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "stranger", appleAccount: "sam@example.com")
        #expect(try await fixture.assignUsers([Self.app], ["first"]).eventStatus == "COMPLETE")

        let status = try await fixture.assignUsers([Self.app], ["second", "stranger"])
        #expect(status.eventStatus == "FAILED")
        #expect(status.numCompleted == 1)
        let failure = try #require(status.failures?.first)
        #expect(failure.errorNumber == AppleErrorNumber.licenseAlreadyAssigned)
        #expect(failure.errorInfo?.clientUserIds == ["second"])
        #expect(failure.errorInfo?.assets == [Self.app])
        let holders = try #require(failure.errorInfo?.regUsersAlreadyAssigned)
        #expect(holders.map(\.clientUserId) == ["first"])
        #expect(holders.first?.status == "Associated")
        #expect(try await fixture.asset(Self.app).assignedCount == 2)

        // At another location the same person is another user: no clash there.
        try await fixture.createUsers(["pat-annex"], uId: SimulatorFixture.annex)
        try await fixture.simulator.acceptInvitation(location: SimulatorFixture.annex, clientUserId: "pat-annex", appleAccount: "pat@example.com")
        #expect(try await fixture.assignUsers([Self.app], ["pat-annex"], uId: SimulatorFixture.annex).eventStatus == "COMPLETE")
    }

    @Test func acceptingAnInvitationAssociatesTheUserOnce() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.createUsers(["u1"])
        let before = try await fixture.simulator.users(token: token, query: UsersQuery())
        let accepted = try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "u1")
        #expect(accepted.userStatus == .associated)
        #expect(accepted.idHash != nil)
        // Only what changed since the first read.
        let changed = try await fixture.simulator.users(token: token, query: UsersQuery(sinceVersionId: before.versionId))
        #expect(changed.users.map(\.clientUserId) == ["u1"])
        #expect(changed.users.first?.userStatus == .associated)
        #expect(try await fixture.simulator.users(token: token, query: UsersQuery(sinceVersionId: changed.versionId)).users.isEmpty)
        // Accepting twice is refused: the user is no longer Registered; so is an unknown user.
        await #expect(throws: AppleSimulatorError.self) {
            try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "u1")
        }
        await #expect(throws: AppleSimulatorError.self) {
            try await fixture.simulator.acceptInvitation(location: SimulatorFixture.mainCampus, clientUserId: "nobody")
        }
    }

    @Test func usersPageWithSinceVersionId() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.simulator.setPageSize(2)
        try await fixture.createUsers(["a", "b", "c"])
        let first = try await fixture.simulator.users(token: token, query: UsersQuery())
        #expect(first.totalPages == 2)
        #expect(first.size == 3)
        #expect(first.nextPageIndex == 1)
        let second = try await fixture.simulator.users(token: token, query: UsersQuery(pageIndex: 1))
        #expect(second.users.map(\.clientUserId) == ["c"])
        #expect(second.nextPageIndex == nil)
        let outside = await appleError { try await fixture.simulator.users(token: token, query: UsersQuery(pageIndex: 2)) }
        #expect(outside?.errorNumber == AppleErrorNumber.invalidArgument)

        try await fixture.manage(.updateUsers, ["b"], email: "b@new.example")
        let changed = try await fixture.simulator.users(token: token, query: UsersQuery(sinceVersionId: first.versionId))
        #expect(changed.users.map(\.clientUserId) == ["b"])
        #expect(changed.users.first?.email == "b@new.example")
        let unknown = await appleError { try await fixture.simulator.users(token: token, query: UsersQuery(sinceVersionId: "nonsense")) }
        #expect(unknown?.errorNumber == 9721)
    }

    @Test func updateWithAManagedAppleIdAssociatesAndUnknownUsersFail() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        try await fixture.createUsers(["u1"])
        let status = try await fixture.manage(.updateUsers, ["u1", "ghost"], managedAppleId: "u1@managed.example")
        #expect(status.eventType == "UPDATE")
        #expect(status.numCompleted == 1)
        #expect(status.failures?.first?.errorNumber == AppleErrorNumber.userNotFound)
        #expect(status.failures?.first?.errorInfo?.clientUserIds == ["ghost"])
        #expect(try await fixture.simulator.users(token: token, query: UsersQuery(clientUserId: "u1")).users.first?.userStatus == .associated)
    }
}

extension SimulatorFixture {
    func createUsers(_ ids: [String], uId: String = SimulatorFixture.mainCampus) async throws {
        let token = try token(uId)
        let event = try await simulator.createUsers(token: token, ManageUsersRequest(users: ids.map { RequestUser(clientUserId: $0) }))
        let status = try await finish(event.eventId, token: token)
        #expect(status.eventStatus == "COMPLETE")
    }

    enum UserCall { case updateUsers, retireUsers }

    @discardableResult
    func manage(_ call: UserCall, _ ids: [String], email: String? = nil, managedAppleId: String? = nil,
                uId: String = SimulatorFixture.mainCampus) async throws -> EventStatus {
        let token = try token(uId)
        let request = ManageUsersRequest(users: ids.map { RequestUser(clientUserId: $0, email: email, managedAppleId: managedAppleId) })
        let event = switch call {
        case .updateUsers: try await simulator.updateUsers(token: token, request)
        case .retireUsers: try await simulator.retireUsers(token: token, request)
        }
        return try await finish(event.eventId, token: token)
    }

    func assignUsers(_ assets: [WireAssetKey], _ ids: [String], uId: String = SimulatorFixture.mainCampus) async throws -> EventStatus {
        let token = try token(uId)
        let event = try await simulator.associate(token: token, .users(ids, assets: assets))
        return try await finish(event.eventId, token: token)
    }
}
