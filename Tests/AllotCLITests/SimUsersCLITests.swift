import Foundation
import Testing

/// `allot sim accept-invitation`, `sim subscription-seats` and `sim end-period`: the world of
/// users and subscriptions changing behind Apple's API, from the command line.
@Suite(.timeLimit(.minutes(5))) struct SimUsersCLITests {
    /// Main Campus declared subscription management and has two users; North Campus did not.
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z",
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true}],
           "users": [{"clientUserId": "u1", "email": "u1@example.com"}, {"clientUserId": "u2", "managedAppleId": "u2@managed.example"}],
           "subscriptionManagement": true},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z",
           "assets": []}
        ]}
        """

    @Test func seatsAreSetPeriodsEndAndInvitationsAreAccepted() async throws {
        let workspace = try Workspace()
        try await workspace.simulator(seed: Self.seed)
        let state = workspace.path("sim.json")
        // Before a token enables subscriptions, nothing can be bought into its location.
        let refused = try await workspace.run("sim", "subscription-seats", "--state", state, "--location", "1002", "--adam-id", "12345", "--renewing", "2")
        #expect(refused.status == 1, "\(refused)")
        refused.expectOneSentence(containing: "subscription")

        let set = try await workspace.json("sim", "subscription-seats", "--state", state, "--location", "1001", "--adam-id", "12345",
                                           "--renewing", "2", "--expiring", "1", "--period-end", "2027-01-15")
        #expect(set["periodEnd"] as? String == "2027-01-15")
        let ended = try await workspace.json("sim", "end-period", "--state", state, "--location", "1001")
        let subscriptions = try #require(ended["subscriptions"] as? [[String: Any]])
        #expect(subscriptions.first?["periodEndDate"] as? String == "2027-02-15")
        let counts = try #require(subscriptions.first?["counts"] as? [String: Any])
        #expect((counts["total"] as? [String: Int]) == ["renewing": 2, "expiring": 0])

        let accepted = try await workspace.json("sim", "accept-invitation", "--state", state, "--location", "1001", "--user", "u1",
                                                "--apple-account", "pat@example.com")
        #expect(accepted["status"] as? String == "Associated")
        // u1 is Associated now, and u2 was from the start (a Managed Apple Account).
        for user in ["u1", "u2"] {
            let again = try await workspace.run("sim", "accept-invitation", "--state", state, "--location", "1001", "--user", user)
            #expect(again.status == 1, "\(again)")
            again.expectOneSentence(containing: user)
        }
    }
}
