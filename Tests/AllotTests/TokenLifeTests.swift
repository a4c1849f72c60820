import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// The seeds' stories of DESIGN.md "Tokens", end to end against the simulator in-process.
@Suite(.timeLimit(.minutes(5))) struct TokenLifeTests {
    @Test(arguments: AppleTransport.allCases)
    func oneAppInTwoTokensShowsOnceAndLicencesComeFromEither(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 16)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        let shared = try #require(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId })
        #expect(shared.total == 15)
        #expect(shared.tokens.count == 2)

        let outcome = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...16))
        #expect(outcome.counts["assigned"] == 15)
        #expect(outcome.counts["no_license"] == 1)
        #expect(Set(outcome.items.compactMap(\.tokenId)).count == 2)

        let pushed = try await world.engine.push(tenant: "springfield")
        #expect(pushed.unfinished == 0)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test(arguments: AppleTransport.allCases)
    func renewalWithTheRightFileKeepsEveryAssignmentAndReturnsToActive(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 5)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...3))
        _ = try await world.engine.push(tenant: "springfield")

        try await world.simulator.expireToken(location: "1001")
        let synced = try await world.engine.sync(tenant: "springfield")
        #expect(synced.first?.state == .expired)
        let blocked = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 4...4))
        #expect(blocked.items.first?.result == .noLicense)
        let whileExpired = try #require(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId })
        #expect(whileExpired.total == 0)
        #expect(whileExpired.assignedOnUnusableTokens == 3)

        let fresh = try await world.renewedTokenFile("1001")
        let renewed = try await world.engine.renewToken(tenant: "springfield", token: "\(token.id)", fileContents: fresh)
        #expect(renewed.state == .active)
        #expect(try await world.ledgerAssignments().count == 3)
        let after = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 4...4))
        #expect(after.items.first?.result == .assigned)
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test(arguments: AppleTransport.allCases)
    func renewalWithAnotherLocationsFileIsRefusedAndNothingChanges(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        let eventsBefore = try await world.engine.events(tenant: "springfield", limit: 1000).count
        await #expect {
            _ = try await world.engine.renewToken(tenant: "springfield", token: "1001", fileContents: world.tokenFile("1002"))
        } throws: { error in
            let message = (error as? AllotError)?.message ?? ""
            // The likely cause is the wrong file: that is the advice, not a removal (which
            // would give back every licence); a removal is named only with its cost.
            return message.contains("North Campus (1002)") && message.contains("Main Campus (1001)")
                && message.contains("wrong file") && message.contains("download the token of Main Campus")
                && message.contains("gives back every licence")
        }
        let tokens = try await world.engine.tokenList(tenant: "springfield")
        #expect(tokens.count == 1)
        #expect(tokens.first?.locationUid == "1001")
        #expect(tokens.first?.expiresAt == token.expiresAt)
        #expect(try await world.engine.events(tenant: "springfield", limit: 1000).count == eventsBefore)
    }

    @Test(arguments: AppleTransport.allCases)
    func removalGivesEveryLicenceBackListsTheDevicesAndDropsAnAppOnlyThatTokenHeld(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 4)
        let main = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.mainOnlyApp, 1...2))
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.appleAssignments().count == 2)

        let report = try await world.engine.removeToken(tenant: "springfield", token: "\(main.id)")
        #expect(report.revoked == 2)
        #expect(report.devices == [World.serial(1).value, World.serial(2).value])
        #expect(try await world.engine.apps(tenant: "springfield").contains { $0.adamId == World.mainOnlyApp.adamId } == false)
        #expect(try await world.engine.hasStoredSecret(tenant: "springfield", token: "\(main.id)"))

        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.simulator.allAssignments(location: "1001").isEmpty)
        #expect(try await world.engine.hasStoredSecret(tenant: "springfield", token: "\(main.id)") == false)
    }

    @Test(arguments: AppleTransport.allCases)
    func anExpiredOrRevokedTokenKeepsItsAssignmentsButGivesNoNewOnes(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 4)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...2))
        try await world.simulator.revokeToken(location: "1001")
        let pushed = try await world.engine.push(tenant: "springfield")
        #expect(pushed.pausedTokens.count == 1)
        let token = try #require(try await world.engine.tokenList(tenant: "springfield").first)
        #expect(token.state == .revoked)
        #expect(try await world.ledgerAssignments().count == 2)
        let blocked = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 3...3))
        #expect(blocked.items.first?.result == .noLicense)
        // Renewal brings it back, and the paused operations are delivered.
        _ = try await world.engine.renewToken(tenant: "springfield", token: "1001", fileContents: world.renewedTokenFile("1001"))
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test(arguments: AppleTransport.allCases)
    func aTokenClaimedByAppleConfiguratorIsNoticedNamedAndLeavesThePoolUntilTakenOver(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 6)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...2))
        _ = try await world.engine.push(tenant: "springfield")

        try await world.simulator.claim(location: "1002", mdmInfo: AppleSimulator.appleConfiguratorMDMInfo())
        _ = try await world.engine.sync(tenant: "springfield")
        let north = try #require(try await world.engine.tokenList(tenant: "springfield").first { $0.locationUid == "1002" })
        #expect(north.state == .claimedElsewhere)
        #expect(north.ownerName == "Apple Configurator 2")
        let shared = try #require(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId })
        #expect(shared.total == 10)

        let report = try await world.engine.takeOver(tenant: "springfield", token: "1002", cleanUp: true)
        #expect(report.previousOwner == "Apple Configurator 2")
        let back = try #require(try await world.engine.tokenList(tenant: "springfield").first { $0.locationUid == "1002" })
        #expect(back.state == .active)
        #expect(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId }?.total == 15)
    }

    @Test(arguments: AppleTransport.allCases)
    func takeOverWithCleanUpRevokesWhatThisServerDidNotAssign(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 2)
        // Another MDM assigned two licences at Configurator Lab before we took it.
        let lab = try world.tokenFile("3001")
        let event = try await world.apple.associate(token: lab, AssociationRequest(
            assets: [WireAssetKey(adamId: "361309726", pricingParam: "STDQ")], serialNumbers: ["FOREIGN00001", "FOREIGN00002"]))
        _ = try await world.apple.eventStatus(token: lab, eventId: event.eventId)
        #expect(try await world.simulator.allAssignments(location: "3001").count == 2)
        await #expect(throws: AllotError.self) {
            _ = try await world.engine.addToken(tenant: "springfield", fileContents: lab)
        }
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: lab, takeover: true)
        #expect(try await world.engine.events(tenant: "springfield", limit: 100, kind: "token_taken_over").count == 1)

        let report = try await world.engine.takeOver(tenant: "springfield", token: "3001", cleanUp: true)
        #expect(report.appleAssignments == 2)
        #expect(report.notOurs == 2)
        #expect(report.revoking == 2)
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.simulator.allAssignments(location: "3001").isEmpty)
    }

    @Test(arguments: AppleTransport.allCases)
    func aLocationUsedByAnotherTenantIsRefused(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        try await world.tenant("shelbyville", devices: 1)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        await #expect {
            _ = try await world.engine.addToken(tenant: "shelbyville", fileContents: world.tokenFile("1001"))
        } throws: { error in
            (error as? AllotError)?.message.contains("another tenant") == true
        }
        #expect(try await world.engine.tokenList(tenant: "shelbyville").isEmpty)
    }

    @Test(arguments: AppleTransport.allCases)
    func theWrongLocationsTokenLeavesCountsAtZeroAndIsReported(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("2001"))
        let reports = try await world.engine.sync(tenant: "springfield")
        #expect(reports.first?.warnings.contains { $0.contains("holds no licences") } == true)
        #expect(try await world.engine.apps(tenant: "springfield").first?.total == 0)
        #expect(try await world.engine.events(tenant: "springfield", kind: "token_has_no_licences").isEmpty == false)
    }

    @Test(arguments: AppleTransport.allCases)
    func everyWayATokenFileCanBeWrongHasItsOwnMessage(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        func base64(_ json: String) -> String { Data(json.utf8).base64EncodedString() }
        let files = [
            "",
            "this is not base64 at all!",
            base64("not json"),
            base64(#"{"token": "abc", "orgName": "X"}"#),
            base64(#"{"token": "abc", "expDate": "next tuesday", "orgName": "X"}"#),
            base64(#"{"token": "abc", "expDate": "2020-01-01T00:00:00+0000", "orgName": "X"}"#),
        ]
        var messages: [String] = []
        for file in files {
            do {
                _ = try await world.engine.addToken(tenant: "springfield", fileContents: file)
                Issue.record("a malformed token file was accepted")
            } catch let error as AllotError {
                messages.append(error.message)
            }
        }
        #expect(Set(messages).count == files.count)
        #expect(messages[0].contains("empty"))
        #expect(messages[1].contains("Base64"))
        #expect(messages[2].contains("JSON"))
        #expect(messages[3].contains("expDate"))
        #expect(messages[4].contains("date"))
        #expect(messages[5].contains("expired"))
        #expect(try await world.engine.tokenList(tenant: "springfield").isEmpty)
    }
}
