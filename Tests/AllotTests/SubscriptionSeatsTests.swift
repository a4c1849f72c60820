import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Subscription seats on the engine's side, against the simulator (Apple's "Managing
/// subscriptions"): a token's opt-in, Apple's 9818, and the seats merged across tokens.
@Suite(.timeLimit(.minutes(5))) struct SubscriptionSeatsTests {
    static let news: Int64 = 1_500_000_001
    static let radio: Int64 = 1_500_000_002

    /// Gives seats to people behind the engine's back, as another tool of the organisation
    /// would: Apple's own calls with the location's token, each event waited for (bounded).
    func seat(_ world: World, location: String, adamId: Int64, people: [String]) async throws {
        let bearer = try world.tokenFile(location)
        let apple = world.simulator
        for event in [try await apple.createUsers(token: bearer, ManageUsersRequest(users: people.map { RequestUser(clientUserId: $0) })),
                      try await apple.associateSubscriptions(token: bearer, ManageSubscriptionsRequest(adamIds: [adamId], clientUserIds: people, renewing: true))] {
            var status = try await apple.eventStatus(token: bearer, eventId: event.eventId)
            for _ in 0..<20 where status.eventStatus == "PENDING" {
                status = try await apple.eventStatus(token: bearer, eventId: event.eventId)
            }
            #expect(status.eventStatus == "COMPLETE")
        }
    }

    @Test(arguments: AppleTransport.allCases)
    func enablingTellsAppleAndReadsTheLocationsSeatsAtOnce(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        #expect(try await world.engine.subscriptions(tenant: "springfield").isEmpty)

        let enabled = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "\(token.id)", enabled: true)
        #expect(enabled.subscriptionManagement)
        #expect(enabled.subscriptions == 0)
        // Seats can be bought only once the location opted in (Apple); the next sync reads them.
        try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, parentAdamId: 54321, renewing: 3, expiring: 1,
                                                       periodEnd: "2027-01-15")
        let synced = try await world.engine.sync(tenant: "springfield")
        #expect(synced.first?.error == nil)
        let listed = try #require(try await world.engine.subscriptions(tenant: "springfield").first)
        #expect(listed.adamId == Self.news)
        #expect(listed.parentAdamId == 54321)
        #expect(listed.total == SeatCount(renewing: 3, expiring: 1))
        #expect(listed.assigned == .zero)
        #expect(listed.available == SeatCount(renewing: 3, expiring: 1))
        #expect(listed.periodEnd == "2027-01-15")
        #expect(listed.status == "ACTIVE")

        // Enabling again reads Apple's numbers at once, without a sync.
        try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, parentAdamId: 54321, renewing: 5, periodEnd: "2027-01-15")
        let again = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "\(token.id)", enabled: true)
        #expect(again.subscriptions == 1)
        #expect(try await world.engine.subscriptions(tenant: "springfield").first?.total == SeatCount(renewing: 5, expiring: 0))
    }

    @Test(arguments: AppleTransport.allCases)
    func disablingWhileTheLocationHoldsSeatsIsRefusedInOneSentenceAndChangesNothing(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "1001", enabled: true)
        try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, renewing: 2, periodEnd: "2027-01-15")
        try await seat(world, location: "1001", adamId: Self.news, people: ["person-a"])

        let refusal = await #expect(throws: AllotError.self) {
            try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "\(token.id)", enabled: false)
        }
        #expect(refusal?.code == .conflict)
        #expect(refusal?.message.contains("9818") == true)
        #expect(refusal?.message.contains("the seats must end or be refunded first") == true)
        #expect(refusal?.message.contains("\n") == false)
        // Still on at Apple and in the ledger: the seats stay listed, read again at sync.
        _ = try await world.engine.sync(tenant: "springfield")
        let listed = try #require(try await world.engine.subscriptions(tenant: "springfield").first)
        #expect(listed.assigned == SeatCount(renewing: 1, expiring: 0))
        #expect(listed.available == SeatCount(renewing: 1, expiring: 0))
    }

    @Test func disablingWithNoSeatsTurnsItOffAndTheSeatsLeaveTheList() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "1001", enabled: true)
        try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, renewing: 0, periodEnd: "2027-01-15")
        _ = try await world.engine.sync(tenant: "springfield")
        #expect(try await world.engine.subscriptions(tenant: "springfield").count == 1)

        let disabled = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: "1001", enabled: false)
        #expect(!disabled.subscriptionManagement)
        #expect(try await world.engine.subscriptions(tenant: "springfield").isEmpty)
        // Apple still lists the subscription (with no seats); a sync of a location that opted
        // out reads none.
        _ = try await world.engine.sync(tenant: "springfield")
        #expect(try await world.engine.subscriptions(tenant: "springfield").isEmpty)
    }

    @Test func seatsOfOneSubscriptionAreMergedAcrossTheTenantsTokens() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let main = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        let north = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        for location in ["1001", "1002"] {
            _ = try await world.engine.setSubscriptionManagement(tenant: "springfield", token: location, enabled: true)
        }
        try await world.simulator.setSubscriptionSeats(location: "1001", adamId: Self.news, renewing: 3, expiring: 1, periodEnd: "2027-02-01")
        try await world.simulator.setSubscriptionSeats(location: "1002", adamId: Self.news, renewing: 2, periodEnd: "2027-01-15")
        try await world.simulator.setSubscriptionSeats(location: "1002", adamId: Self.radio, renewing: 1, periodEnd: "2027-03-01")
        try await seat(world, location: "1002", adamId: Self.news, people: ["person-b"])
        _ = try await world.engine.sync(tenant: "springfield")

        let listed = try await world.engine.subscriptions(tenant: "springfield")
        #expect(listed.map(\.adamId) == [Self.news, Self.radio])
        let news = try #require(listed.first)
        #expect(news.total == SeatCount(renewing: 5, expiring: 1))
        #expect(news.assigned == SeatCount(renewing: 1, expiring: 0))
        #expect(news.available == SeatCount(renewing: 4, expiring: 1))
        // The earliest period end: when the first seats set to expire go.
        #expect(news.periodEnd == "2027-01-15")
        #expect(news.locations.map(\.tokenId) == [main.id, north.id])
        #expect(listed.last?.locations.map(\.tokenId) == [north.id])

        // A removed token's seats are out of the tenant's pool.
        _ = try await world.engine.removeToken(tenant: "springfield", token: "\(north.id)")
        let after = try await world.engine.subscriptions(tenant: "springfield")
        #expect(after.map(\.adamId) == [Self.news])
        #expect(after.first?.total == SeatCount(renewing: 3, expiring: 1))
    }
}
