import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct AuthenticationTests {
    @Test func currentTokenFileContentAuthenticatesItsLocation() async throws {
        let fixture = try SimulatorFixture()
        let config = try await fixture.simulator.clientConfig(token: fixture.token())
        #expect(config.uId == SimulatorFixture.mainCampus)
        #expect(config.locationName == "Main Campus")
        #expect(config.tokenExpirationDate == "2099-09-01T00:00:00+0000")
        #expect(config.mdmInfo == nil)
    }

    @Test func surroundingWhitespaceIsTrimmed() async throws {
        let fixture = try SimulatorFixture()
        let config = try await fixture.simulator.clientConfig(token: "  \(fixture.token())\n")
        #expect(config.uId == SimulatorFixture.mainCampus)
    }

    @Test func unknownTokenAnswers9601With401() async throws {
        let fixture = try SimulatorFixture()
        let error = await appleError { try await fixture.simulator.clientConfig(token: "bm90IGEgdG9rZW4=") }
        #expect(error?.errorNumber == 9601)
        #expect(error?.httpStatus == 401)
        #expect(error?.classification == .tokenInvalid)
    }

    @Test func emptyBearerAnswers9722() async throws {
        let fixture = try SimulatorFixture()
        let error = await appleError { try await fixture.simulator.clientConfig(token: "  ") }
        #expect(error?.errorNumber == 9722)
        #expect(error?.httpStatus == 401)
    }

    @Test func tokenExpiredByControlAnswers9621With401() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.expireToken(location: SimulatorFixture.mainCampus)
        let error = await appleError { try await fixture.simulator.assets(token: fixture.token(), query: AssetsQuery()) }
        #expect(error?.errorNumber == 9621)
        #expect(error?.httpStatus == 401)
        #expect(error?.classification == .tokenExpired)
        // The other location is untouched.
        _ = try await fixture.simulator.clientConfig(token: fixture.token(SimulatorFixture.annex))
    }

    @Test func tokenPastItsDateAnswers9621() async throws {
        let fixture = try SimulatorFixture(mainExpires: "2020-01-01T00:00:00Z")
        let error = await appleError { try await fixture.simulator.clientConfig(token: fixture.token()) }
        #expect(error?.errorNumber == 9621)
        #expect(error?.httpStatus == 401)
    }

    @Test func revokedTokenAnswers9625With401() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.revokeToken(location: SimulatorFixture.mainCampus)
        let error = await appleError { try await fixture.simulator.clientConfig(token: fixture.token()) }
        #expect(error?.errorNumber == 9625)
        #expect(error?.httpStatus == 401)
        #expect(error?.classification == .tokenRevoked)
    }

    @Test func renewalKillsTheOldStringAtOnceAndKeepsAssignments() async throws {
        let fixture = try SimulatorFixture()
        let old = try fixture.token()
        _ = try await fixture.assign([SimulatorFixture.app], ["SERIAL1"])

        let url = try await fixture.simulator.renewToken(location: SimulatorFixture.mainCampus,
                                                          tokensDirectory: fixture.tokensDirectory)
        let new = try String(contentsOf: url, encoding: .utf8)
        #expect(new != old)
        #expect(url == fixture.tokenFile(SimulatorFixture.mainCampus))

        let error = await appleError { try await fixture.simulator.clientConfig(token: old) }
        #expect(error?.errorNumber == 9601)
        let config = try await fixture.simulator.clientConfig(token: new)
        #expect(config.uId == SimulatorFixture.mainCampus)
        let assignments = try await fixture.simulator.assignments(token: new, query: AssignmentsQuery())
        #expect(assignments.assignments.map(\.serialNumber) == ["SERIAL1"])
    }

    @Test func renewalMakesARevokedLocationUsableAgain() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.revokeToken(location: SimulatorFixture.mainCampus)
        try await fixture.simulator.renewToken(location: SimulatorFixture.mainCampus, tokensDirectory: fixture.tokensDirectory)
        let config = try await fixture.simulator.clientConfig(token: fixture.token())
        #expect(config.uId == SimulatorFixture.mainCampus)
    }
}
