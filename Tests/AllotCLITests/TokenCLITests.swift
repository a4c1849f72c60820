import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct TokenCLITests {
    @Test func twoLocationsMergeIntoOnePoolPerApp() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let apps = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"]
        let shared = try #require(apps.first { $0["adamId"] as? String == Workspace.sharedApp })
        #expect(shared["pricingParam"] as? String == "STDQ")
        #expect(shared[int: "total"] == 15)
        #expect(shared[int: "assigned"] == 0)
        #expect(shared[int: "available"] == 15)
        #expect(shared[int: "overAllocated"] == 0)
        let shares = shared[array: "tokens"]
        #expect(shares.map { $0["locationUid"] as? String } == ["1001", "1002"])
        #expect(shares.map { $0[int: "total"] } == [10, 5])
        #expect(shares.allSatisfy { $0["usable"] as? Bool == true && $0["id"] is Int && $0["assigned"] is Int && $0["available"] is Int })
    }

    @Test func tokensAreListedWithTheContractFieldsAndNoSecret() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let result = try await workspace.run("token", "list", "--tenant", "springfield", "--json")
        let tokens = try result.json()[array: "tokens"]
        #expect(tokens.count == 2)
        let main = try #require(tokens.first)
        #expect(main["id"] is Int)
        #expect(main["locationUid"] as? String == "1001")
        #expect(main["locationName"] as? String == "Main Campus")
        #expect(main["orgName"] as? String == "Springfield Schools")
        #expect(main["expiresAt"] as? String == "2027-09-01T00:00:00Z")
        #expect(main["state"] as? String == "active")
        #expect(main["expiresInDays"] is Int)
        let secret = try String(contentsOfFile: workspace.tokenFile("1001"), encoding: .utf8)
        #expect(!result.stdout.contains(secret))
        #expect(!(try await workspace.run("token", "list", "--tenant", "springfield").stdout.contains(secret)))
    }

    @Test func aLocationAddedTwiceIsRefusedAndNothingChanges() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let again = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1002"))
        #expect(again.status == 1)
        again.expectOneSentence(containing: "allot token renew")
        #expect(try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].count == 2)
    }

    @Test func aLocationOfAnotherTenantIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        try await workspace.run("tenant", "create", "shelbyville")
        let result = try await workspace.run("token", "add", "--tenant", "shelbyville", workspace.tokenFile("1001"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "another tenant")
        #expect(try await workspace.json("token", "list", "--tenant", "shelbyville")[array: "tokens"].isEmpty)
    }

    @Test func aLocationHeldByAppleConfiguratorIsRefusedUnlessTakenOver() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let refused = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("3001"))
        #expect(refused.status == 1)
        refused.expectOneSentence(containing: "Apple Configurator 2")
        #expect(try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].count == 2)

        let taken = try await workspace.json("token", "add", "--tenant", "springfield", workspace.tokenFile("3001"), "--takeover")
        #expect(taken["locationUid"] as? String == "3001")
        #expect(taken["state"] as? String == "active")
        #expect(try await workspace.sharedPool()[int: "total"] == 19)
    }

    @Test func aFileThatIsNotATokenIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let garbage = try workspace.write("garbage.vpptoken", "this is not base64 at all!")
        let result = try await workspace.run("token", "add", "--tenant", "springfield", garbage)
        #expect(result.status == 1)
        result.expectOneSentence()
        let missing = try await workspace.run("token", "add", "--tenant", "springfield", "nowhere.vpptoken")
        #expect(missing.status == 1)
        missing.expectOneSentence(containing: "nowhere.vpptoken")
    }

    @Test func tokenCommandsWithoutAppleAreRefused() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"), environment: ["ALLOT_APPLE": ""])
        #expect(result.status == 1)
        result.expectOneSentence(containing: "--apple")
    }

    @Test func aMissingSimulatorStateIsRefusedWithHowToCreateIt() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("sync", "--tenant", "springfield", "--apple", "sim:" + workspace.path("none.json"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "allot sim init")
    }

    @Test func anUnknownTokenIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        for command in [["token", "remove"], ["token", "takeover"], ["sync", "--token"]] {
            let result = try await workspace.run(arguments: command + ["9999", "--tenant", "springfield"])
            #expect(result.status == 1, "\(command): \(result)")
            result.expectOneSentence(containing: "9999")
        }
    }

    @Test func aRenewalWithAnotherLocationsFileIsRefusedNamingBoth() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let result = try await workspace.run("token", "renew", "--tenant", "springfield", "1001", workspace.tokenFile("1002"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "Main Campus")
        #expect(result.stderr.contains("North Campus"))
        let tokens = try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"]
        #expect(tokens.first?["expiresAt"] as? String == "2027-09-01T00:00:00Z")
    }

    @Test func aRenewedFileBringsADeadTokenBackAndKeepsItsAssignments() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 12)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices").status == 0)
        try await workspace.json("sim", "renew-token", "--state", workspace.path("sim.json"), "--location", "1001", "--tokens-dir", workspace.path("tokens"))
        try await workspace.json("sync", "--tenant", "springfield")
        let dead = try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"]
        #expect(dead.first?["state"] as? String == "invalid")

        let renewed = try await workspace.json("token", "renew", "--tenant", "springfield", "1001", workspace.tokenFile("1001"))
        #expect(renewed["state"] as? String == "active")
        let pool = try await workspace.sharedPool()
        #expect(pool[int: "assigned"] == 12)
        #expect(try await workspace.appleAssignments().count == 12)
    }

    @Test func appleConfiguratorTakesALocationAndItsLicencesLeaveThePoolUntilTakenBack() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        try await workspace.json("sim", "claim", "--state", workspace.path("sim.json"), "--location", "1002", "--name", "Apple Configurator 2")
        let synced = try await workspace.json("sync", "--tenant", "springfield")[array: "tokens"]
        #expect(synced.last?["state"] as? String == "claimed_elsewhere")
        let tokens = try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"]
        #expect(tokens.last?["ownerName"] as? String == "Apple Configurator 2")
        #expect(try await workspace.sharedPool()[int: "total"] == 10)

        let takeover = try await workspace.json("token", "takeover", "--tenant", "springfield", "1002", "--clean-up")
        #expect(takeover["previousOwner"] as? String == "Apple Configurator 2")
        #expect(try await workspace.sharedPool()[int: "total"] == 15)
    }

    @Test func removingATokenRevokesItsLicencesAndListsTheDevices() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 15)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let removed = try await workspace.json("token", "remove", "--tenant", "springfield", "1002")
        #expect(removed[int: "revoked"] == 5)
        let devices = try #require(removed["devices"] as? [String])
        #expect(devices.count == 5)
        #expect(try await workspace.appleAssignments(location: "1002").isEmpty)
        #expect(try await workspace.appleAssignments(location: "1001").count == 10)

        let again = try await workspace.run("token", "remove", "--tenant", "springfield", "1002")
        #expect(again.status == 1)
        again.expectOneSentence(containing: "already removed")
    }
}
