import Foundation
import Testing

/// `allot token subscriptions TOKEN --enable|--disable` and `allot subscriptions list`: a
/// location's opt-in, Apple's refusal, and the seats merged across the tenant's tokens.
@Suite(.timeLimit(.minutes(5))) struct SubscriptionsCLITests {
    @Test func aTokenOptsInItsSeatsAreListedAndApplesRefusalIsOneSentence() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let empty = try await workspace.run("subscriptions", "list", "--tenant", "springfield")
        #expect(empty.status == 0 && empty.stdout.contains("No subscription seats yet"), "\(empty)")

        let enabled = try await workspace.json("token", "subscriptions", "1001", "--enable", "--tenant", "springfield")
        #expect(enabled["subscriptionManagement"] as? Bool == true)
        #expect(enabled["locationUid"] as? String == "1001")
        #expect(enabled["subscriptions"] as? Int == 0)
        let state = workspace.path("sim.json")
        let north = try await workspace.run("token", "subscriptions", "1002", "--enable", "--tenant", "springfield")
        #expect(north.status == 0 && north.stdout.contains("Subscriptions are on at token"), "\(north)")
        for (location, renewing) in [("1001", "2"), ("1002", "3")] {
            let seeded = try await workspace.run("sim", "subscription-seats", "--state", state, "--location", location, "--adam-id", "12345",
                                                 "--renewing", renewing, "--expiring", "1", "--period-end", location == "1001" ? "2027-02-01" : "2027-01-15")
            #expect(seeded.status == 0, "\(seeded)")
        }
        let synced = try await workspace.run("sync", "--tenant", "springfield")
        #expect(synced.status == 0, "\(synced)")

        let listed = try await workspace.json("subscriptions", "list", "--tenant", "springfield")[array: "subscriptions"]
        #expect(listed.count == 1)
        let news = try #require(listed.first)
        #expect(news["adamId"] as? Int == 12345)
        #expect((news["total"] as? [String: Int]) == ["renewing": 5, "expiring": 2])
        #expect((news["assigned"] as? [String: Int]) == ["renewing": 0, "expiring": 0])
        #expect((news["available"] as? [String: Int]) == ["renewing": 5, "expiring": 2])
        #expect(news["periodEnd"] as? String == "2027-01-15")
        #expect(news["parentAdamId"] is NSNull)
        #expect((news["locations"] as? [[String: Any]])?.compactMap { $0["locationUid"] as? String } == ["1001", "1002"])
        let text = try await workspace.run("subscriptions", "list", "--tenant", "springfield")
        #expect(text.status == 0 && text.stdout.contains("1 subscription, 7 seats, 7 available."), "\(text)")

        // Apple refuses to turn subscriptions off while the location holds seats: exit 1, one
        // sentence, nothing changed.
        let refused = try await workspace.run("token", "subscriptions", "1001", "--disable", "--tenant", "springfield")
        #expect(refused.status == 1, "\(refused)")
        refused.expectOneSentence(containing: "9818")
        let after = try await workspace.json("subscriptions", "list", "--tenant", "springfield")[array: "subscriptions"]
        #expect((after.first?["total"] as? [String: Int]) == ["renewing": 5, "expiring": 2])

        let both = try await workspace.run("token", "subscriptions", "1001", "--enable", "--disable", "--tenant", "springfield")
        #expect(both.status == 2, "\(both)")
        let neither = try await workspace.run("token", "subscriptions", "1001", "--tenant", "springfield")
        #expect(neither.status == 2, "\(neither)")
        let unknown = try await workspace.run("token", "subscriptions", "9999", "--enable", "--tenant", "springfield")
        #expect(unknown.status == 1, "\(unknown)")
        unknown.expectOneSentence(containing: "token")
    }
}
