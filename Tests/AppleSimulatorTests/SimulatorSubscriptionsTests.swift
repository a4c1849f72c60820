import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Subscription seats (Apple's "Managing subscriptions").
@Suite(.timeLimit(.minutes(5))) struct SimulatorSubscriptionsTests {
    static let news: Int64 = 12345
    static let parent: Int64 = 54321
    static let main = SimulatorFixture.mainCampus

    /// Main Campus with subscriptions enabled, `renewing` + `expiring` seats of `news`, and users.
    func world(renewing: Int = 3, expiring: Int = 0, users: [String] = ["u1", "u2", "u3", "u4"]) async throws -> SimulatorFixture {
        let fixture = try SimulatorFixture()
        let enabled = try await fixture.simulator.enableSubscriptions(token: fixture.token())
        #expect(enabled.subscriptionManagement == true)
        #expect(enabled.uId == Self.main)
        try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: Self.news, parentAdamId: Self.parent,
                                                         renewing: renewing, expiring: expiring, periodEnd: "2027-01-15")
        if !users.isEmpty { try await fixture.createUsers(users) }
        return fixture
    }

    @Test func seatsCannotBeBoughtBeforeTheTokenEnablesSubscriptions() async throws {
        let fixture = try SimulatorFixture()
        await #expect(throws: AppleSimulatorError.self) {
            try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: Self.news, renewing: 1)
        }
        let page = try await fixture.simulator.subscriptions(token: fixture.token(), query: SubscriptionsQuery())
        #expect(page.subscriptions.isEmpty)
        #expect(page.nextCursor == nil)
    }

    @Test func subscriptionsListWithCountsSplitByRenewalState() async throws {
        let fixture = try await world(renewing: 3, expiring: 2)
        let page = try await fixture.simulator.subscriptions(token: fixture.token(), query: SubscriptionsQuery())
        let subscription = try #require(page.subscriptions.first)
        #expect(subscription.adamId == Self.news)
        #expect(subscription.parentAdamId == Self.parent)
        #expect(subscription.subscriptionStatus == .active)
        #expect(subscription.periodEndDate == "2027-01-15")
        #expect(subscription.counts == SubscriptionCounts(assigned: .zero, available: .init(renewing: 3, expiring: 2),
                                                          total: .init(renewing: 3, expiring: 2)))
        #expect(page.nextCursor == nil)
        #expect(page.uId == Self.main)
        // Filters.
        #expect(try await fixture.simulator.subscriptions(token: fixture.token(), query: SubscriptionsQuery(parentAdamId: 1)).subscriptions.isEmpty)
        #expect(try await fixture.simulator.subscriptions(token: fixture.token(), query: SubscriptionsQuery(adamId: Self.news)).subscriptions.count == 1)
    }

    @Test func associateRenewingAndExpiringSeatsAndKeepApplesInvariant() async throws {
        let fixture = try await world(renewing: 2, expiring: 1)
        let renewing = try await fixture.seat(["u1"], renewing: true)
        #expect(renewing.eventStatus == "COMPLETE")
        #expect(renewing.eventType == "ASSOCIATE")
        // Not renewing: the expiring licence first, then a renewing one.
        let expiring = try await fixture.seat(["u2", "u3"], renewing: false)
        #expect(expiring.eventStatus == "COMPLETE")
        let counts = try #require(try await fixture.counts(Self.news))
        #expect(counts.assigned == .init(renewing: 1, expiring: 2))
        #expect(counts.available == .init(renewing: 0, expiring: 0))
        #expect(counts.total == .init(renewing: 2, expiring: 1))
        #expect(counts.assigned!.sum + counts.available!.sum == counts.total!.sum)

        // No seat left: 9709 for the user.
        let full = try await fixture.seat(["u4"], renewing: true)
        #expect(full.eventStatus == "FAILED")
        #expect(full.failures?.first?.errorNumber == AppleErrorNumber.notEnoughLicenses)
        #expect(full.failures?.first?.errorInfo?.clientUserIds == ["u4"])
        #expect(full.failures?.first?.errorInfo?.adamIds == [Self.news])

        let assignments = try await fixture.simulator.subscriptionAssignments(token: fixture.token(), query: SubscriptionAssignmentsQuery())
        #expect(assignments.assignments.map(\.clientUserId) == ["u1", "u2", "u3"])
        #expect(assignments.assignments.map(\.renewing) == [true, false, false])
        let mine = try await fixture.simulator.subscriptionAssignments(token: fixture.token(), query: SubscriptionAssignmentsQuery(clientUserId: "u2"))
        #expect(mine.assignments == [ResponseSubscriptionAssignment(adamId: Self.news, clientUserId: "u2", renewing: false)])
    }

    @Test func renewingSeatsCannotComeFromExpiringLicences() async throws {
        let fixture = try await world(renewing: 0, expiring: 2)
        let status = try await fixture.seat(["u1"], renewing: true)
        #expect(status.failures?.first?.errorNumber == AppleErrorNumber.notEnoughLicenses)
        #expect(try await fixture.seat(["u1"], renewing: false).eventStatus == "COMPLETE")
    }

    @Test func aUserNotRegisteredHereFailsWith9609() async throws {
        let fixture = try await world(users: ["u1"])
        let status = try await fixture.seat(["u1", "stranger"], renewing: true)
        #expect(status.eventStatus == "FAILED")
        #expect(status.numCompleted == 1)
        #expect(status.failures?.first?.errorNumber == AppleErrorNumber.userNotFound)
        #expect(status.failures?.first?.errorInfo?.clientUserIds == ["stranger"])
    }

    @Test func disassociateNowFreesTheSeatAndDeferredKeepsItUntilThePeriodEnds() async throws {
        let fixture = try await world(renewing: 3)
        _ = try await fixture.seat(["u1", "u2", "u3"], renewing: true)
        let now = try await fixture.unseat(["u1"], deferred: false)
        #expect(now.eventStatus == "COMPLETE")
        #expect(now.eventType == "DISASSOCIATE")
        let deferred = try await fixture.unseat(["u2"], deferred: true)
        #expect(deferred.eventStatus == "COMPLETE")

        var counts = try #require(try await fixture.counts(Self.news))
        // u2 keeps the seat until the period ends, counted as expiring.
        #expect(counts.assigned == .init(renewing: 1, expiring: 1))
        #expect(counts.available == .init(renewing: 1, expiring: 0))
        let u2 = try await fixture.simulator.subscriptionAssignments(token: fixture.token(), query: SubscriptionAssignmentsQuery(clientUserId: "u2"))
        #expect(u2.assignments.first?.renewing == false)

        let ended = try await fixture.simulator.endSubscriptionPeriod(location: Self.main)
        #expect(ended.first?.periodEndDate == "2027-02-15")
        counts = try #require(try await fixture.counts(Self.news))
        #expect(counts.assigned == .init(renewing: 1, expiring: 0))
        #expect(counts.available == .init(renewing: 2, expiring: 0))
        let left = try await fixture.simulator.subscriptionAssignments(token: fixture.token(), query: SubscriptionAssignmentsQuery())
        #expect(left.assignments.map(\.clientUserId) == ["u3"])
    }

    @Test func atThePeriodsEndExpiringLicencesDisappearAndNonRenewingAssignmentsEnd() async throws {
        let fixture = try await world(renewing: 2, expiring: 2)
        _ = try await fixture.seat(["u1"], renewing: false)
        _ = try await fixture.seat(["u2"], renewing: true)
        _ = try await fixture.seat(["u3"], renewing: false)
        _ = try await fixture.seat(["u4"], renewing: false)
        try await fixture.simulator.endSubscriptionPeriod(location: Self.main, adamId: Self.news)
        let counts = try #require(try await fixture.counts(Self.news))
        #expect(counts.total == .init(renewing: 2, expiring: 0))
        #expect(counts.assigned == .init(renewing: 1, expiring: 0))
        #expect(counts.available == .init(renewing: 1, expiring: 0))
    }

    @Test func requestsOverTheSubscriptionLimitsAnswer9816() async throws {
        let fixture = try await world()
        let token = try fixture.token()
        var limits = ServiceLimits.appleDefaults
        limits.maxSubscriptions = 1
        limits.maxSubscriptionClientUserIds = 2
        try await fixture.simulator.setLimits(limits)
        try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: 777, renewing: 1)
        let subscriptions = await appleError {
            try await fixture.simulator.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news, 777], clientUserIds: ["u1"]))
        }
        #expect(subscriptions?.errorNumber == AppleErrorNumber.tooManySubscriptionItems)
        #expect(subscriptions?.httpStatus == 400)
        let users = await appleError {
            try await fixture.simulator.disassociateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news], clientUserIds: ["u1", "u2", "u3"]))
        }
        #expect(users?.errorNumber == AppleErrorNumber.tooManySubscriptionItems)
        // Repeats count once: Apple's limits are of unique ids.
        _ = try await fixture.simulator.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [Self.news, Self.news], clientUserIds: ["u1", "u2", "u1"]))
        // A subscription the location does not have is a bad request.
        let unknown = await appleError {
            try await fixture.simulator.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [999], clientUserIds: ["u1"]))
        }
        #expect(unknown?.errorNumber == AppleErrorNumber.invalidArgument)
        let config = try await fixture.simulator.serviceConfig()
        #expect(config.limits.maxSubscriptions == 1)
        #expect(config.errorCodes.contains { $0.errorNumber == 9816 })
    }

    @Test func disablingWhileSubscriptionsExistAnswers9818() async throws {
        let fixture = try await world(renewing: 1)
        let token = try fixture.token()
        _ = try await fixture.seat(["u1"], renewing: true)
        let refused = await appleError { try await fixture.simulator.disableSubscriptions(token: token) }
        #expect(refused?.errorNumber == AppleErrorNumber.subscriptionsExist)
        // Even with no seat assigned, the subscription's seats exist.
        _ = try await fixture.unseat(["u1"], deferred: false)
        let stillRefused = await appleError { try await fixture.simulator.disableSubscriptions(token: token) }
        #expect(stillRefused?.errorNumber == AppleErrorNumber.subscriptionsExist)
        // Its seats refunded, the subscription is listed with zero counts and no longer stops it.
        try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: Self.news, renewing: 0)
        let zero = try #require(try await fixture.counts(Self.news))
        #expect(zero.total == .zero)
        let disabled = try await fixture.simulator.disableSubscriptions(token: token)
        #expect(disabled.subscriptionManagement == false)
    }

    @Test func seatsHeldCannotBeRefundedAway() async throws {
        let fixture = try await world(renewing: 2)
        _ = try await fixture.seat(["u1", "u2"], renewing: true)
        await #expect(throws: AppleSimulatorError.self) {
            try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: Self.news, renewing: 1)
        }
    }

    @Test func retiringAUserGivesBackItsSeats() async throws {
        let fixture = try await world(renewing: 1)
        _ = try await fixture.seat(["u1"], renewing: true)
        try await fixture.manage(.retireUsers, ["u1"])
        #expect(try await fixture.counts(Self.news)?.available == .init(renewing: 1, expiring: 0))
    }

    @Test func cursorPagesAreReadOnceEachInOrder() async throws {
        let fixture = try await world(renewing: 5, users: ["a", "b", "c", "d", "e"])
        let token = try fixture.token()
        _ = try await fixture.seat(["a", "b", "c", "d", "e"], renewing: true)
        try await fixture.simulator.setPageSize(2)

        let first = try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery())
        #expect(first.assignments.map(\.clientUserId) == ["a", "b"])
        let firstCursor = try #require(first.nextCursor)
        let second = try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: firstCursor))
        #expect(second.assignments.map(\.clientUserId) == ["c", "d"])
        let secondCursor = try #require(second.nextCursor)

        // The same cursor again (a parallel read, or going back) is refused.
        let twice = await appleError { try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: firstCursor)) }
        #expect(twice?.errorNumber == AppleErrorNumber.invalidArgument)
        // A cursor with other filters, of another list, made up, or of another location.
        let filtered = await appleError {
            try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: secondCursor, clientUserId: "e"))
        }
        #expect(filtered?.errorNumber == AppleErrorNumber.invalidArgument)
        let otherList = await appleError { try await fixture.simulator.subscriptions(token: token, query: SubscriptionsQuery(cursor: secondCursor)) }
        #expect(otherList?.errorNumber == AppleErrorNumber.invalidArgument)
        let madeUp = await appleError { try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: "eyJwYWdlIjoyfQ")) }
        #expect(madeUp?.errorNumber == AppleErrorNumber.invalidArgument)
        let annex = await appleError {
            try await fixture.simulator.subscriptionAssignments(token: fixture.token(SimulatorFixture.annex), query: SubscriptionAssignmentsQuery(cursor: secondCursor))
        }
        #expect(annex?.errorNumber == AppleErrorNumber.invalidArgument)

        // The refusals did not spend it: the chain goes on to its end.
        let last = try await fixture.simulator.subscriptionAssignments(token: token, query: SubscriptionAssignmentsQuery(cursor: secondCursor))
        #expect(last.assignments.map(\.clientUserId) == ["e"])
        #expect(last.nextCursor == nil)
        #expect(last.versionId == first.versionId)
    }

    @Test func subscriptionsPageByCursorToo() async throws {
        let fixture = try await world(renewing: 1, users: [])
        for adamId: Int64 in [2, 3, 4] {
            try await fixture.simulator.setSubscriptionSeats(location: Self.main, adamId: adamId, renewing: 1)
        }
        try await fixture.simulator.setPageSize(3)
        let token = try fixture.token()
        let first = try await fixture.simulator.subscriptions(token: token, query: SubscriptionsQuery())
        #expect(first.subscriptions.map(\.adamId) == [Self.news, 2, 3])
        let rest = try await fixture.simulator.subscriptions(token: token, query: SubscriptionsQuery(cursor: try #require(first.nextCursor)))
        #expect(rest.subscriptions.map(\.adamId) == [4])
        #expect(rest.nextCursor == nil)
        #expect(rest.subscriptions.first?.parentAdamId == nil)
    }
}

extension SimulatorFixture {
    func seat(_ users: [String], renewing: Bool, adamId: Int64 = SimulatorSubscriptionsTests.news) async throws -> EventStatus {
        let token = try token()
        let event = try await simulator.associateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [adamId], clientUserIds: users, renewing: renewing))
        return try await finish(event.eventId, token: token)
    }

    func unseat(_ users: [String], deferred: Bool, adamId: Int64 = SimulatorSubscriptionsTests.news) async throws -> EventStatus {
        let token = try token()
        let event = try await simulator.disassociateSubscriptions(token: token, ManageSubscriptionsRequest(adamIds: [adamId], clientUserIds: users, deferred: deferred))
        return try await finish(event.eventId, token: token)
    }

    func counts(_ adamId: Int64) async throws -> SubscriptionCounts? {
        try await simulator.subscriptions(token: token(), query: SubscriptionsQuery(adamId: adamId)).subscriptions.first?.counts
    }
}

/// Users and subscriptions written by the seed of `sim init`.
@Suite(.timeLimit(.minutes(5))) struct SeedUsersAndSubscriptionsTests {
    @Test func aSeedRegistersUsersAndSubscriptions() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = """
            {"locations": [{"uId": "1001", "locationName": "Main", "orgName": "Org", "expires": "2099-01-01T00:00:00Z",
              "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}],
              "users": [{"clientUserId": "u1", "email": "u1@example.com"}, {"clientUserId": "u2", "appleAccount": "pat@example.com"}],
              "subscriptions": [{"adamId": 12345, "parentAdamId": 54321, "renewing": 10, "expiring": 2, "periodEnd": "2027-01-15"}]}]}
            """
        let simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: folder.appendingPathComponent("sim.sqlite"),
                                                      tokensDirectory: folder.appendingPathComponent("tokens"), enforceRequestRate: false)
        let token = try String(contentsOf: AppleSimulator.tokenFileURL(location: "1001", tokensDirectory: folder.appendingPathComponent("tokens")),
                               encoding: .utf8)
        let users = try await simulator.users(token: token, query: UsersQuery())
        #expect(users.users.map(\.userStatus) == [.registered, .associated])
        let subscriptions = try await simulator.subscriptions(token: token, query: SubscriptionsQuery())
        #expect(subscriptions.subscriptions.first?.counts?.total == .init(renewing: 10, expiring: 2))
        let refused = await appleError { try await simulator.disableSubscriptions(token: token) }
        #expect(refused?.errorNumber == AppleErrorNumber.subscriptionsExist)

        let bad = seed.replacingOccurrences(of: "2027-01-15", with: "January")
        #expect(throws: AppleSimulatorError.self) {
            _ = try AppleSimulator.initialize(seed: Data(bad.utf8), statePath: folder.appendingPathComponent("bad.sqlite"),
                                              tokensDirectory: folder.appendingPathComponent("tokens2"))
        }
    }
}
