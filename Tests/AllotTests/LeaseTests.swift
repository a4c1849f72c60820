import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Two workers (two engines on one database: two `allot push` processes, or `allot serve` and a
/// push) share one outbox through leases in the ledger.
@Suite(.timeLimit(.minutes(5))) struct LeaseTests {
    @Test func twoWorkersRacingOnOneOutboxSendEveryOperationOnce() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 15)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        // One serial per request: 15 operations over two tokens to fight over.
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = 1
        try await world.simulator.setLimits(limits)
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...15))

        let apple = CountingApple(world.simulator)
        let first = try World.openEngine(database: world.database, apple: apple, clock: world.clock, key: world.key)
        let second = try World.openEngine(database: world.database, apple: apple, clock: world.clock, key: world.key)
        async let one = first.push()
        async let two = second.push()
        let (a, b) = try await (one, two)
        // A worker claims a lane's whole round at once (`LaneRound.operationsMax`), so which of
        // the two delivers a token's operations is a race; that each goes once is the rule.
        #expect(a.sent + b.sent == 15)
        let sends = apple.sendsPerSerial
        #expect(sends.count == 15)
        #expect(sends.values.allSatisfy { $0 == 1 }, "a serial was sent twice: \(sends.filter { $0.value > 1 })")
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test func anOperationLeftLeasedByACrashedWorkerGoesOutOnceTheLeaseExpires() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 2)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...2))
        // A worker claims the operation, then dies before calling Apple.
        let clock = world.clock
        let crashed = try Ledger(path: world.folder.appendingPathComponent("allot.sqlite").path, clock: { clock.now })
        let operation = try #require(try crashed.operations(tenant: nil).first)
        #expect(try crashed.claim(operation, owner: "crashed-worker", leaseSeconds: 120))

        #expect(try await world.engine.push().sent == 0)
        world.clock.advance(121)
        let report = try await world.engine.push()
        #expect(report.sent == 1)
        #expect(report.unfinished == 0)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }
}
