import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import TestDeadlines
import Testing

/// Apple's SUBSCRIPTION_COUNT and SUBSCRIPTION_MANAGEMENT, over real HTTP on loopback: the
/// simulator's notification sender posts to the in-process server's receiver, and the stored
/// seats move without a sync; seats running low is an event.
@Suite(.timeLimit(.minutes(5))) struct SubscriptionNotificationsTests {
    static let news: Int64 = 1_500_000_001

    @Test func seatsBoughtAndGivenAreToldByAppleAndRunningLowIsAnEvent() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try KeptInStepTests.engine(world)
        _ = try await engine.createTenant(slug: "springfield")
        let logs = LogCapture()
        try await KeptInStepTests.serving(world, engine, interval: nil, publicURL: true, logs: logs) { _ in
            let token = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
            let configured = try await TestDeadlines.eventually(KeptInStepTests.patienceSeconds) {
                try await KeptInStepTests.kinds(engine).contains("notifications_configured")
            }
            #expect(configured, "logs: \(logs.text)")
            _ = try await engine.setSubscriptionManagement(tenant: "springfield", token: "\(token.id)", enabled: true)

            // A purchase: SUBSCRIPTION_COUNT brings the total, no sync asked.
            try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, renewing: 10, periodEnd: "2027-01-15")
            let bought = try await TestDeadlines.eventually(KeptInStepTests.patienceSeconds) {
                try await engine.subscriptions(tenant: "springfield").first?.total == SeatCount(renewing: 10, expiring: 0)
            }
            #expect(bought, "logs: \(logs.text)")
            #expect(try await !KeptInStepTests.kinds(engine).contains("subscription_seats_low"))

            // Nine seats given by another tool of the organisation: SUBSCRIPTION_MANAGEMENT; one
            // seat of ten left is below the tenant's 20% threshold.
            let bearer = try world.tokenFile("1001")
            let people = (1...9).map { "person-\($0)" }
            for event in [try await world.simulator.createUsers(token: bearer, ManageUsersRequest(users: people.map { RequestUser(clientUserId: $0) })),
                          try await world.simulator.associateSubscriptions(token: bearer, ManageSubscriptionsRequest(adamIds: [Self.news], clientUserIds: people))] {
                let done = try await TestDeadlines.eventually(KeptInStepTests.patienceSeconds) {
                    try await world.simulator.eventStatus(token: bearer, eventId: event.eventId).eventStatus != "PENDING"
                }
                #expect(done)
            }
            let given = try await TestDeadlines.eventually(KeptInStepTests.patienceSeconds) {
                try await engine.subscriptions(tenant: "springfield").first?.available == SeatCount(renewing: 1, expiring: 0)
            }
            #expect(given, "logs: \(logs.text)")
            #expect(try await engine.subscriptions(tenant: "springfield").first?.assigned == SeatCount(renewing: 9, expiring: 0))
            let low = try await engine.events(tenant: "springfield", limit: 100).filter { $0.kind == "subscription_seats_low" }
            #expect(low.count == 1, "\(low)")
            let first = try #require(low.first)
            let detail = try #require(try JSONSerialization.jsonObject(with: Data(first.detail.utf8)) as? [String: Any])
            #expect(detail["belowPercent"] as? Int == 20 && detail["available"] as? Int == 1 && detail["total"] as? Int == 10, "\(detail)")
            #expect(detail["adamId"] as? Int64 == Self.news)
        }
    }
}
