import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct PersistenceAndOwnershipTests {
    @Test func stateSurvivesANewSimulatorOnTheSameFile() async throws {
        let fixture = try SimulatorFixture()
        _ = try await fixture.assign([SimulatorFixture.app], ["S1", "S2"])
        try await fixture.simulator.revokeToken(location: SimulatorFixture.annex)
        try await fixture.simulator.setPageSize(1)

        let reopened = try AppleSimulator(statePath: fixture.statePath)
        let page = try await reopened.assignments(token: fixture.token(), query: AssignmentsQuery())
        #expect(page.size == 2)
        #expect(page.totalPages == 2)
        let error = await appleError { try await reopened.clientConfig(token: fixture.token(SimulatorFixture.annex)) }
        #expect(error?.errorNumber == 9625)
    }

    @Test func instancesSharingAFileSeeEachOthersWritesAtOnce() async throws {
        let fixture = try SimulatorFixture(appTotal: 2)
        let other = try AppleSimulator(statePath: fixture.statePath)
        _ = try await fixture.assign([SimulatorFixture.app], ["S1"])
        let asset = try await other.assets(token: fixture.token(), query: AssetsQuery(adamId: SimulatorFixture.app.adamId)).assets.first
        #expect(asset?.assignedCount == 1)

        // An event recorded by one instance completes once, whoever polls it.
        try await other.setPendingPolls(1)
        let token = try fixture.token()
        let event = try await fixture.simulator.associate(token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S2"]))
        #expect(try await other.eventStatus(token: token, eventId: event.eventId).eventStatus == "PENDING")
        #expect(try await fixture.simulator.eventStatus(token: token, eventId: event.eventId).eventStatus == "COMPLETE")
        #expect(try await other.eventStatus(token: token, eventId: event.eventId).eventStatus == "COMPLETE")
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 2)
    }

    @Test func openingAMissingStateFileFails() {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sim-missing-\(UUID().uuidString).json")
        #expect(throws: AppleSimulatorError.self) { try AppleSimulator(statePath: missing) }
    }

    @Test func seededMDMInfoIsAnsweredFromTheStart() async throws {
        let fixture = try SimulatorFixture(mainMDMInfo: #"{"id": "cfg-1", "name": "Apple Configurator 2", "metadata": "2.17"}"#)
        let config = try await fixture.simulator.clientConfig(token: fixture.token())
        #expect(config.mdmInfo == MDMInfo(id: "cfg-1", name: "Apple Configurator 2", metadata: "2.17"))
    }

    @Test func claimByAnotherServerShowsOnEveryAnswer() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let ours = MDMInfo(id: "ours", name: "allot", metadata: "1.0")
        let claimed = try await fixture.simulator.updateClientConfig(token: token, ClientConfigRequest(mdmInfo: ours))
        #expect(claimed.mdmInfo == ours)
        let event = try await fixture.simulator.associate(token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        #expect(event.mdmInfo == ours)

        let configurator = AppleSimulator.appleConfiguratorMDMInfo()
        try await fixture.simulator.claim(location: SimulatorFixture.mainCampus, mdmInfo: configurator)

        #expect(try await fixture.simulator.clientConfig(token: token).mdmInfo == configurator)
        #expect(try await fixture.simulator.assets(token: token, query: AssetsQuery()).mdmInfo == configurator)
        #expect(try await fixture.simulator.assignments(token: token, query: AssignmentsQuery()).mdmInfo == configurator)
        #expect(try await fixture.simulator.eventStatus(token: token, eventId: event.eventId).mdmInfo == configurator)
        let revoke = try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: ["S1"]))
        #expect(revoke.mdmInfo == configurator)
        #expect(configurator.name == "Apple Configurator 2")
        // The other location is not affected.
        #expect(try await fixture.simulator.clientConfig(token: fixture.token(SimulatorFixture.annex)).mdmInfo == nil)
    }

    @Test func controlOperationOnAnUnknownLocationIsRefused() async throws {
        let fixture = try SimulatorFixture()
        await #expect(throws: AppleSimulatorError.self) { try await fixture.simulator.revokeToken(location: "nope") }
    }
}
