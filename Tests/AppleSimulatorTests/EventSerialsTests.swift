import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// An event's serials are stored as JSON text and inserted by SQLite straight from it: any
/// serial a caller sends must come back exactly, in the order sent, on every path.
@Suite(.timeLimit(.minutes(5))) struct EventSerialsTests {
    /// Characters JSON must escape, characters it may, and text beyond ASCII.
    static let awkward = [#"Q"UOTE"#, #"BACK\SLASH"#, "NEW\nLINE", "TAB\tCTRL\u{01}\u{1F}", "SLASH/ED",
                          "ÜNÏCODE-序列", "EMOJI-📱", "  SPACED  ", #"\u0041"#, "Z-LAST", "A-FIRST"]

    @Test func anAssociateWithLicencesEnoughListsEverySerialExactlyInTheOrderSent() async throws {
        let fixture = try SimulatorFixture(appTotal: 20)
        let status = try await fixture.assign([SimulatorFixture.app], Self.awkward)
        #expect(status.eventStatus == "COMPLETE")
        #expect(status.numCompleted == Self.awkward.count)
        let page = try await fixture.simulator.assignments(token: fixture.token(), query: AssignmentsQuery(adamId: SimulatorFixture.app.adamId))
        #expect(page.assignments.map(\.serialNumber) == Self.awkward)
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == Self.awkward.count)
    }

    @Test func anAssociateShortOfLicencesServesTheFirstAndNamesTheRestExactly() async throws {
        let fixture = try SimulatorFixture(appTotal: 4)
        let status = try await fixture.assign([SimulatorFixture.app], Self.awkward)
        #expect(status.eventStatus == "FAILED")
        #expect(status.numCompleted == 4)
        #expect(status.failures?.first?.errorInfo?.serialNumbers == Array(Self.awkward[4...]))
        let page = try await fixture.simulator.assignments(token: fixture.token(), query: AssignmentsQuery())
        #expect(page.assignments.map(\.serialNumber) == Array(Self.awkward[..<4]))
    }

    @Test func aDisassociateAndARevokeFindEveryAwkwardSerial() async throws {
        let fixture = try SimulatorFixture(appTotal: 20)
        let token = try fixture.token()
        // The fixture's non-revocable app has 10 licences.
        let fixedSerials = Array(Self.awkward.prefix(10))
        _ = try await fixture.assign([SimulatorFixture.app], Self.awkward)
        _ = try await fixture.assign([SimulatorFixture.fixedApp], fixedSerials)
        let half = Array(Self.awkward[..<5])
        let freed = try await fixture.simulator.disassociate(token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: half))
        #expect(try await fixture.finish(freed.eventId, token: token).numCompleted == half.count)
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == Self.awkward.count - half.count)

        let revoked = try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: Self.awkward))
        #expect(try await fixture.finish(revoked.eventId, token: token).eventStatus == "COMPLETE")
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 0)
        // The non-revocable app keeps every licence, named exactly as sent.
        let kept = try await fixture.simulator.assignments(token: token, query: AssignmentsQuery(adamId: SimulatorFixture.fixedApp.adamId))
        #expect(kept.assignments.map(\.serialNumber) == fixedSerials)
    }
}
