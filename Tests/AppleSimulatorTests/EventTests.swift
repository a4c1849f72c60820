import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Writes are asynchronous; their effect lands once, when the event completes.
@Suite(.timeLimit(.minutes(5))) struct EventTests {
    @Test func eventStaysPendingForTheSetPollsThenCompletesAndAppliesOnce() async throws {
        let fixture = try SimulatorFixture(appTotal: 10)
        try await fixture.simulator.setPendingPolls(2)
        let token = try fixture.token()
        let event = try await fixture.simulator.associate(
            token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1", "S2"]))
        #expect(event.uId == SimulatorFixture.mainCampus)

        let first = try await fixture.simulator.eventStatus(token: token, eventId: event.eventId)
        #expect(first.eventStatus == "PENDING")
        #expect(first.numCompleted == 0)
        // Nothing is spent while the event has polls left, whatever else is called.
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 0)
        let second = try await fixture.simulator.eventStatus(token: token, eventId: event.eventId)
        #expect(second.eventStatus == "PENDING")
        // Now due: it completes on the next call to the location, here the third poll.

        for _ in 0..<5 {
            let done = try await fixture.simulator.eventStatus(token: token, eventId: event.eventId)
            #expect(done.eventStatus == "COMPLETE")
            #expect(done.eventType == "ASSOCIATE")
            #expect(done.numRequested == 2)
            #expect(done.numCompleted == 2)
            #expect(done.failures == nil)
        }
        let asset = try await fixture.asset(SimulatorFixture.app)
        #expect(asset.assignedCount == 2)
        #expect(asset.availableCount == 8)
    }

    @Test func withNoPendingPollsTheFirstPollSeesComplete() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        let event = try await fixture.simulator.associate(
            token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        let status = try await fixture.simulator.eventStatus(token: token, eventId: event.eventId)
        #expect(status.eventStatus == "COMPLETE")
    }

    @Test func associatingWhatIsAlreadyHeldSpendsNothing() async throws {
        let fixture = try SimulatorFixture(appTotal: 3)
        _ = try await fixture.assign([SimulatorFixture.app], ["S1", "S2"])
        let again = try await fixture.assign([SimulatorFixture.app], ["S1", "S2", "S3"])
        #expect(again.eventStatus == "COMPLETE")
        #expect(again.numCompleted == 3)
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 3)
    }

    @Test func runningOutOfLicencesFailsTheRestWith9709() async throws {
        let fixture = try SimulatorFixture(appTotal: 3)
        let serials = SimulatorFixture.serials(5)
        let status = try await fixture.assign([SimulatorFixture.app, SimulatorFixture.fixedApp], serials)
        #expect(status.eventStatus == "FAILED")
        #expect(status.numRequested == 10)
        #expect(status.numCompleted == 8)
        let failures = try #require(status.failures)
        #expect(failures.count == 1)
        #expect(failures.first?.errorNumber == 9709)
        #expect(failures.first?.errorInfo?.assets == [SimulatorFixture.app])
        #expect(failures.first?.errorInfo?.serialNumbers == Array(serials[3...]))

        let asset = try await fixture.asset(SimulatorFixture.app)
        #expect(asset.assignedCount == 3)
        #expect(asset.availableCount == 0)
        #expect(try await fixture.asset(SimulatorFixture.fixedApp).assignedCount == 5)
    }

    @Test func disassociateFreesLicencesAndIsIdempotent() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        _ = try await fixture.assign([SimulatorFixture.app], ["S1", "S2"])
        let event = try await fixture.simulator.disassociate(
            token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1", "NEVER"]))
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventStatus == "COMPLETE")
        #expect(status.eventType == "DISASSOCIATE")
        #expect(status.numCompleted == 2)
        let left = try await fixture.simulator.allAssignments(location: SimulatorFixture.mainCampus)
        #expect(left.map(\.serialNumber) == ["S2"])
    }

    @Test func disassociatingANonRevocableAssetFailsWith9706AndKeepsTheLicence() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        _ = try await fixture.assign([SimulatorFixture.fixedApp], ["S1"])
        let event = try await fixture.simulator.disassociate(
            token: token, AssociationRequest(assets: [SimulatorFixture.fixedApp], serialNumbers: ["S1"]))
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventStatus == "FAILED")
        #expect(status.failures?.first?.errorNumber == 9706)
        #expect(try await fixture.asset(SimulatorFixture.fixedApp).assignedCount == 1)
    }

    @Test func revokeFreesOnlyRevocableAssetsOfTheSerials() async throws {
        let fixture = try SimulatorFixture()
        let token = try fixture.token()
        _ = try await fixture.assign([SimulatorFixture.app, SimulatorFixture.fixedApp], ["S1", "S2"])
        let event = try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: ["S1"]))
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventStatus == "COMPLETE")
        #expect(status.eventType == "REVOKE")
        #expect(status.numRequested == 1)

        let left = Set(try await fixture.simulator.allAssignments().map { "\($0.adamId)/\($0.serialNumber)" })
        #expect(left == [
            "\(SimulatorFixture.fixedApp.adamId)/S1",
            "\(SimulatorFixture.app.adamId)/S2",
            "\(SimulatorFixture.fixedApp.adamId)/S2",
        ])
    }

    @Test func aForcedFailureEndsFailedAndChangesNothing() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.setPendingPolls(1)
        let token = try fixture.token()
        let event = try await fixture.simulator.associate(
            token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        try await fixture.simulator.failEvent(eventId: event.eventId)
        let status = try await fixture.finish(event.eventId, token: token)
        #expect(status.eventStatus == "FAILED")
        #expect(status.numCompleted == 0)
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 0)
    }

    @Test func failNextEventsFailsThatManyNewEvents() async throws {
        let fixture = try SimulatorFixture()
        try await fixture.simulator.failNextEvents(count: 1)
        let failed = try await fixture.assign([SimulatorFixture.app], ["S1"])
        #expect(failed.eventStatus == "FAILED")
        let next = try await fixture.assign([SimulatorFixture.app], ["S1"])
        #expect(next.eventStatus == "COMPLETE")
    }

    @Test func anEventIdOfAnotherLocationAnswers9602() async throws {
        let fixture = try SimulatorFixture()
        let event = try await fixture.simulator.associate(
            token: fixture.token(), AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        let error = await appleError {
            try await fixture.simulator.eventStatus(token: fixture.token(SimulatorFixture.annex), eventId: event.eventId)
        }
        #expect(error?.errorNumber == 9602)
    }

    @Test func aDueEventLandsOnTheNextCallEvenIfNeverPolled() async throws {
        let fixture = try SimulatorFixture()
        _ = try await fixture.simulator.associate(
            token: fixture.token(), AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"]))
        let assignments = try await fixture.simulator.allAssignments()
        #expect(assignments == [SimulatorAssignment(adamId: SimulatorFixture.app.adamId, pricingParam: "STDQ",
                                                    serialNumber: "S1", locationUid: SimulatorFixture.mainCampus)])
    }
}
