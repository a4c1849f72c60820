import Foundation
import Testing

/// `allot apps`: the merged pools as people and scripts read them.
@Suite(.timeLimit(.minutes(5))) struct AppsCLITests {
    /// A location with a free app Apple counts without limit (totalCount 2147483647). `unlimited`
    /// is the simulator's seed flag for it; `total` says the same to a simulator without it.
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true},
                      {"adamId": "284882215", "pricingParam": "STDQ", "productType": "App", "total": 2147483647, "unlimited": true, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    @Test func anUnlimitedFreeAppSaysUnlimitedToPeopleAndCarriesTheFlagInJSON() async throws {
        let workspace = try Workspace()
        try await workspace.simulator(seed: Self.seed)
        try await workspace.tenantWithDevices(count: 2)
        let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(added.status == 0, "\(added)")
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", "284882215", "--serial", Workspace.serial(1))
        #expect(assigned.status == 0, "\(assigned)")

        let text = try await workspace.run("apps", "--tenant", "springfield")
        #expect(text.status == 0, "\(text)")
        let line = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("284882215:STDQ") })
        #expect(line.contains("unlimited"))
        #expect(!text.stdout.contains("2,147,483"))
        #expect(text.stdout.contains("10 licences available to devices (and 1 app without limit)"))

        let apps = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"]
        let free = try #require(apps.first { $0["adamId"] as? String == "284882215" })
        #expect(free["unlimited"] as? Bool == true)
        #expect(free[int: "total"] == 2_147_483_647)
        #expect(free[int: "assigned"] == 1)
        #expect(free[array: "tokens"].first?["unlimited"] as? Bool == true)
        let counted = try #require(apps.first { $0["adamId"] as? String == "361309726" })
        #expect(counted["unlimited"] as? Bool == false)
    }
}
