import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AppleSimulatorServer
import Foundation
import Testing

/// Users and subscriptions end to end: the HTTP client against the served simulator on
/// loopback, and the same calls in process, with the same answers.
@Suite(.timeLimit(.minutes(5))) struct SimulatorUsersServedTests {
    static let news: Int64 = 12345

    func full(_ world: RulesWorld) throws -> any AppleFullService {
        try #require(world.apple as? any AppleFullService)
    }

    func finish(_ apple: any AppleFullService, _ event: EventResponse, token: String) async throws -> EventStatus {
        for _ in 0..<20 {
            let status = try await apple.eventStatus(token: token, eventId: event.eventId)
            if status.eventStatus != "PENDING" { return status }
        }
        Issue.record("event \(event.eventId) still PENDING")
        return try await apple.eventStatus(token: token, eventId: event.eventId)
    }

    @Test(arguments: SimulatorTransport.allCases)
    func usersGetLicencesFromThePoolDevicesUse(_ transport: SimulatorTransport) async throws {
        try await withRules(transport, seed: RulesWorld.seed(appTotal: 3)) { world in
            let apple = try full(world)
            let token = try world.token()
            let created = try await apple.createUsers(token: token, ManageUsersRequest(users: [
                RequestUser(clientUserId: "u1", email: "u1@example.com"), RequestUser(clientUserId: "u2"),
            ]))
            #expect(try await finish(apple, created, token: token).eventType == "CREATE")
            let page = try await apple.users(token: token, query: UsersQuery(includeRetired: false))
            #expect(page.users.map(\.clientUserId) == ["u1", "u2"])
            #expect(page.users.allSatisfy { $0.userStatus == .registered && $0.inviteCode != nil })

            _ = try await world.assign(["S1", "S2"])
            let users = try await finish(apple, try await apple.associate(token: token, .users(["u1", "u2", "nobody"], assets: [RulesWorld.app])), token: token)
            #expect(users.numCompleted == 1)
            let numbers = Set(users.failures?.map(\.errorNumber) ?? [])
            #expect(numbers == [AppleErrorNumber.notEnoughLicenses, AppleErrorNumber.userNotFound])
            let asset = try #require(try await apple.assets(token: token, query: AssetsQuery(adamId: RulesWorld.app.adamId)).assets.first)
            #expect(asset.assignedCount == 3)
            #expect(asset.availableCount == 0)
            let mine = try await apple.assignments(token: token, query: AssignmentsQuery(clientUserId: "u1"))
            #expect(mine.assignments.map(\.clientUserId) == ["u1"])

            let tooMany = await appleFailure {
                try await apple.createUsers(token: token, ManageUsersRequest(users: (0...100).map { RequestUser(clientUserId: "x\($0)") }))
            }
            #expect(tooMany?.errorNumber == AppleErrorNumber.tooManyClientUserIds)
            #expect(tooMany?.httpStatus == 400)
            let both = await appleFailure {
                try await apple.associate(token: token, AssociationRequest(assets: [RulesWorld.app], serialNumbers: ["S9"], clientUserIds: ["u1"]))
            }
            #expect(both?.errorNumber == AppleErrorNumber.invalidArgument)
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func subscriptionSeatsRoundTrip(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let apple = try full(world)
            let token = try world.token()
            #expect(try await apple.enableSubscriptions(token: token).subscriptionManagement == true)
            try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, parentAdamId: 54321, renewing: 2, expiring: 1,
                                                           periodEnd: "2027-01-15")
            _ = try await finish(apple, try await apple.createUsers(token: token, ManageUsersRequest(users: ["a", "b", "c"].map { RequestUser(clientUserId: $0) })), token: token)
            let seated = try await finish(apple, try await apple.associateSubscriptions(token: token, ManageSubscriptionsRequest(
                adamIds: [Self.news], clientUserIds: ["a", "b"], renewing: true)), token: token)
            #expect(seated.eventStatus == "COMPLETE")
            #expect(seated.numRequested == 2)
            _ = try await finish(apple, try await apple.disassociateSubscriptions(token: token, ManageSubscriptionsRequest(
                adamIds: [Self.news], clientUserIds: ["b"], deferred: true)), token: token)

            let listed = try await apple.subscriptions(token: token, query: SubscriptionsQuery())
            let counts = try #require(listed.subscriptions.first?.counts)
            #expect(counts.assigned == .init(renewing: 1, expiring: 1))
            #expect(counts.available == .init(renewing: 0, expiring: 1))
            #expect(counts.total == .init(renewing: 2, expiring: 1))
            #expect(listed.subscriptions.first?.periodEndDate == "2027-01-15")

            try await world.simulator.setPageSize(1)
            let first = try await apple.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery())
            let cursor = try #require(first.nextCursor)
            let second = try await apple.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: cursor))
            #expect((first.assignments + second.assignments).map(\.clientUserId) == ["a", "b"])
            #expect(second.nextCursor == nil)
            let again = await appleFailure { try await apple.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: cursor)) }
            #expect(again?.errorNumber == AppleErrorNumber.invalidArgument)

            let disable = await appleFailure { try await apple.disableSubscriptions(token: token) }
            #expect(disable?.errorNumber == AppleErrorNumber.subscriptionsExist)
            var limits = ServiceLimits.appleDefaults
            limits.maxSubscriptionClientUserIds = 1
            try await world.simulator.setLimits(limits)
            let large = await appleFailure {
                try await apple.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news], clientUserIds: ["a", "c"]))
            }
            #expect(large?.errorNumber == AppleErrorNumber.tooManySubscriptionItems)
        }
    }

    @Test func theControlRoutesAcceptInvitationsSeedSeatsAndEndPeriods() async throws {
        try await withRules(.http) { world in
            let apple = try full(world)
            let token = try world.token()
            let served = try #require(world.served)
            _ = try await finish(apple, try await apple.createUsers(token: token, ManageUsersRequest(users: [RequestUser(clientUserId: "u1")])), token: token)
            var (status, body) = try await control(served, "/_sim/accept-invitation", #"{"location": "1001", "clientUserId": "u1", "appleAccount": "pat@example.com"}"#)
            #expect(status == 200)
            #expect(try JSONDecoder().decode(ResponseUser.self, from: Data(body.utf8)).userStatus == .associated)
            (status, _) = try await control(served, "/_sim/accept-invitation", #"{"location": "1001", "clientUserId": "u1"}"#)
            #expect(status == 400)

            (status, _) = try await control(served, "/_sim/subscription-seats", #"{"location": "1001", "adamId": 12345, "renewing": 1}"#)
            #expect(status == 400)
            _ = try await apple.enableSubscriptions(token: token)
            (status, body) = try await control(served, "/_sim/subscription-seats",
                                               #"{"location": "1001", "adamId": 12345, "renewing": 1, "expiring": 2, "periodEnd": "2027-03-31"}"#)
            #expect(status == 200)
            #expect(try JSONDecoder().decode(ResponseSubscription.self, from: Data(body.utf8)).counts?.total == .init(renewing: 1, expiring: 2))
            (status, body) = try await control(served, "/_sim/end-subscription-period", #"{"location": "1001"}"#)
            #expect(status == 200)
            let ended = try JSONDecoder().decode([ResponseSubscription].self, from: Data(body.utf8))
            #expect(ended.first?.periodEndDate == "2027-04-30")
            #expect(ended.first?.counts?.total == .init(renewing: 1, expiring: 0))
        }
    }

    @Test func notificationsTellOfUsersAndSeats() async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(.http) { world in
            let apple = try full(world)
            let token = try world.token()
            _ = try await apple.updateClientConfig(token: token, ClientConfigRequest(
                mdmInfo: SimulatorNotificationTests.ours, notificationUrl: receiver.url, notificationAuthToken: SimulatorNotificationTests.receiverToken,
                notificationTypes: ["USER_MANAGEMENT", "USER_ASSOCIATED", "SUBSCRIPTION_COUNT", "SUBSCRIPTION_MANAGEMENT"]))
            _ = try await finish(apple, try await apple.createUsers(token: token, ManageUsersRequest(users: [RequestUser(clientUserId: "u1")])), token: token)
            try await world.simulator.acceptInvitation(location: "1001", clientUserId: "u1", appleAccount: "pat@example.com")
            _ = try await apple.enableSubscriptions(token: token)
            try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, renewing: 2)
            _ = try await finish(apple, try await apple.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news], clientUserIds: ["u1"])), token: token)
            let deferred = try await apple.disassociateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news], clientUserIds: ["u1"], deferred: true))
            _ = try await finish(apple, deferred, token: token)

            let created = try await receiver.wait(for: 1, of: "USER_MANAGEMENT")
            let management = try JSONDecoder().decode(AppleNotification<UserManagementBody>.self, from: try #require(created.first?.body)).notification
            #expect(management.type == "CREATE")
            #expect(management.users?.first?.userStatus == .registered)
            let associated = try await receiver.wait(for: 1, of: "USER_ASSOCIATED")
            let users = try JSONDecoder().decode(AppleNotification<UserAssociatedBody>.self, from: try #require(associated.first?.body)).notification
            #expect(users.associatedUsers.first?.idHash != nil)
            let count = try await receiver.wait(for: 1, of: "SUBSCRIPTION_COUNT")
            let seats = try JSONDecoder().decode(AppleNotification<SubscriptionCountBody>.self, from: try #require(count.first?.body)).notification
            #expect(seats.counts.assigned == nil)
            #expect(seats.counts.total == .init(renewing: 2, expiring: 0))
            #expect(!String(decoding: try #require(count.first?.body), as: UTF8.self).contains("assigned"))
            let seated = try await receiver.wait(for: 1, of: "SUBSCRIPTION_MANAGEMENT")
            let seat = try JSONDecoder().decode(AppleNotification<SubscriptionManagementBody>.self, from: try #require(seated.first?.body)).notification
            #expect(seat.type == "ASSOCIATE")
            #expect(seat.assignments == [ResponseSubscriptionAssignment(adamId: Self.news, clientUserId: "u1", renewing: true)])

            // The deferred disassociation tells of itself only when the period ends.
            await world.simulator.finishNotifications(secondsMax: 5)
            #expect(receiver.notifications.filter { $0.type == "SUBSCRIPTION_MANAGEMENT" }.count == 1)
            try await world.simulator.endSubscriptionPeriod(location: "1001")
            let both = try await receiver.wait(for: 2, of: "SUBSCRIPTION_MANAGEMENT")
            let ended = try JSONDecoder().decode(AppleNotification<SubscriptionManagementBody>.self, from: try #require(both.last?.body)).notification
            #expect(ended.type == "DISASSOCIATE")
            #expect(ended.eventId == deferred.eventId)
            #expect(ended.assignments?.map(\.clientUserId) == ["u1"])
        }
        await receiver.stop()
    }

    /// A control call, as the server's own tests make them.
    func control(_ served: ServedSimulator, _ path: String, _ json: String) async throws -> (Int, String) {
        try await SimulatorServerTests().control(served, .POST, path, json)
    }
}
