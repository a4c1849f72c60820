import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// A token's lane keeps several Apple calls in flight: Apple's limit is calls per second per
/// token, and one call at a time at 150 ms would use under half of 15 a second.
@Suite(.timeLimit(.minutes(5))) struct LaneTests {
    @Test func aTokensBacklogGoesToAppleWithSeveralCallsInFlight() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 12)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        // One serial per request: 12 operations on one token.
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = 1
        try await world.simulator.setLimits(limits)
        let assigned = try #require(try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...12)).counts["assigned"])
        #expect(assigned >= 3)

        let apple = CountingApple(world.simulator, delay: .milliseconds(50))
        let engine = try World.openEngine(database: world.database, apple: apple, clock: world.clock, key: world.key)
        let report = try await engine.push()
        #expect(report.sent == assigned)
        #expect(report.unfinished == 0)
        #expect(apple.callsInFlightPeak > 1, "the lane made its calls one at a time")
        #expect(apple.sendsPerSerial.values.allSatisfy { $0 == 1 })
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test func aLateAnswerForAnOperationWhoseTokenWasPausedChangesNothing() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.mainOnlyApp, 1...1))
        let clock = world.clock
        let ledger = try Ledger(path: world.folder.appendingPathComponent("allot.sqlite").path, clock: { clock.now })
        let operation = try #require(try ledger.operations(tenant: nil).first)
        #expect(try ledger.claim([operation], owner: "worker", leaseSeconds: 120).count == 1)
        // A parallel call of the same lane met a dead token: its operations were paused.
        try ledger.pauseOperations(token: token.id)
        #expect(try ledger.markSent(operation.id, owner: "worker", eventId: "late", pollAt: clock.now) == false)
        #expect(try ledger.operations(tenant: nil).first?.state == .paused)
    }
}
