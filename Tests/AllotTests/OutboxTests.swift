import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Delivery to Apple: exactly once through faults, restarts and refusals.
@Suite(.timeLimit(.minutes(5))) struct OutboxTests {
    @Test(arguments: AppleTransport.allCases)
    func withInjected503And429AndAFailedEventEveryOperationLandsExactlyOnce(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 12)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...12))
        try await world.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: 7), count: 2)
        try await world.simulator.injectFaults(.tooManyRequests, count: 1)
        try await world.simulator.failNextEvents(count: 1)

        var report = try await world.engine.push(tenant: "springfield")
        #expect(report.retrying > 0)
        for _ in 0..<20 where report.unfinished > 0 {
            world.clock.advance(1_000)
            report = try await world.engine.push(tenant: "springfield")
        }
        #expect(report.unfinished == 0)
        let apple = try await world.simulator.allAssignments()
        #expect(apple.count == 12)
        #expect(Set(apple.map(\.serialNumber)).count == 12)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test(arguments: AppleTransport.allCases)
    func aProcessKilledBetweenCommitAndPushDeliversOnRestart(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 3)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...3))
        #expect(try await world.appleAssignments().isEmpty)
        let restarted = try world.reopened()
        let report = try await restarted.push()
        #expect(report.unfinished == 0)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
        // Sending again is harmless.
        #expect(try await restarted.push().sent == 0)
    }

    @Test(arguments: AppleTransport.allCases)
    func licencesAppleRefusesFor9709AreReleasedAndTheCountsResynced(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 10)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        // Apple's total drops (a refund) after our last sync: the ledger still believes in 10.
        try await world.simulator.setTotal(location: "1001", adamId: World.sharedApp.adamId, pricingParam: "STDQ", total: 6)
        let outcome = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...10))
        #expect(outcome.counts["assigned"] == 10)
        let report = try await world.engine.push(tenant: "springfield")
        #expect(report.released.count == 4)
        #expect(try await world.ledgerAssignments().count == 6)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
        let app = try #require(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId })
        #expect(app.total == 6)
        #expect(app.available == 0)
    }

    @Test(arguments: AppleTransport.allCases)
    func afterAnyMixOfBatchesAndPushesAppleEqualsTheLedger(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 20)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        var random = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let lower = Int.random(in: 1...20, using: &random)
            let upper = min(20, lower + Int.random(in: 0...6, using: &random))
            let app = Bool.random(using: &random) ? World.sharedApp : World.mainOnlyApp
            if round % 3 == 2 {
                _ = try await world.engine.revoke(tenant: "springfield", world.items(app, lower...upper))
            } else {
                _ = try await world.engine.assign(tenant: "springfield", world.items(app, lower...upper))
            }
            if Bool.random(using: &random) { _ = try await world.engine.push(tenant: "springfield") }
        }
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }
}
