import Allot
import AllotCore
import AllotStore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import TestDeadlines
import Testing

/// `allot serve`'s delivery (`Allot.deliverUntilStopped`): lanes that live while their token
/// has work, so one tenant's backlog does not hold back another tenant's new work.
@Suite(.timeLimit(.minutes(5))) struct DeliveryLanesTests {
    /// A big location for one tenant's backlog and a small one for another tenant.
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Big District", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 20, "deviceAssignable": true, "revocable": true}]},
          {"uId": "5001", "locationName": "Small School", "orgName": "Shelbyville School", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 2, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    /// The big district's tenant with 20 devices and its token, Apple taking at most
    /// `serialsPerRequest` serials a request.
    static func bigDistrict(serialsPerRequest: Int) async throws -> World {
        let world = try await World(seed: seed)
        try await world.tenant("springfield", devices: 20)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = serialsPerRequest
        try await world.simulator.setLimits(limits)
        return world
    }

    /// An engine paced to Apple's rate (as `allot serve` is), behind a network's delay.
    static func pacedEngine(_ world: World) throws -> Allot {
        var settings = EngineSettings()
        settings.pollIntervalSeconds = 0
        let clock = world.clock
        return try Allot(databasePath: world.database, apple: CountingApple(world.simulator, delay: .milliseconds(20)),
                         secrets: SecretBox(key: world.key), settings: settings, clock: { clock.now })
    }

    @Test func anotherTenantsNewWorkReachesAppleWhileABacklogIsStillBeingDelivered() async throws {
        let world = try await World(seed: Self.seed)
        defer { world.cleanUp() }
        try await world.tenant("springfield", devices: 20)
        try await world.tenant("shelbyville", devices: 1)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "shelbyville", fileContents: world.tokenFile("5001"))
        // One serial a request: the big tenant's 20 devices are 20 operations, 40 calls (a send
        // and a poll each) at Apple's 15 calls a second for one token: seconds of backlog.
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = 1
        try await world.simulator.setLimits(limits)
        #expect(try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...20)).counts["assigned"] == 20)

        let engine = try Self.pacedEngine(world)
        let delivery = Task { await engine.deliverUntilStopped(pollSeconds: 0.2) }
        defer { delivery.cancel() }
        let started = try await TestDeadlines.eventually(30) { try await world.simulator.allAssignments().count >= 1 }
        #expect(started, "the backlog's delivery began")

        // The small tenant's one device, committed while the backlog is delivered.
        #expect(try await engine.assign(tenant: "shelbyville", world.items(World.sharedApp, 1...1, prefix: "shelbyville")).counts["assigned"] == 1)
        let smallSerial = World.serial(1, prefix: "shelbyville").value
        let held = try await TestDeadlines.eventually(30) {
            try await world.simulator.allAssignments().contains { $0.serialNumber == smallSerial }
        }
        #expect(held, "the small tenant's assignment reached Apple")
        let bigUnfinished = try await engine.outbox(tenant: "springfield").count { $0.state.isUnfinished }
        #expect(bigUnfinished > 0, "the small tenant's device waited for the whole backlog")

        // The backlog still drains whole, each serial sent once.
        let drained = try await TestDeadlines.eventually(60) { try await engine.outbox(tenant: nil).allSatisfy { !$0.state.isUnfinished } }
        #expect(drained)
        await engine.stopDelivering()
        await delivery.value
        #expect(try await world.simulator.allAssignments().count == 21)
        #expect(try await world.appleAssignments() == world.ledgerAssignments().union(world.ledgerAssignments("shelbyville")))
    }

    @Test func aBatchCommittedWhileDeliveryRunsGoesOutInRequestsAppleAccepts() async throws {
        let world = try await Self.bigDistrict(serialsPerRequest: 3)
        defer { world.cleanUp() }
        let engine = try Self.pacedEngine(world)
        let delivery = Task { await engine.deliverUntilStopped(pollSeconds: 0.2) }
        defer { delivery.cancel() }
        // The loop has read Apple's limits before the batch lands.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...20)).counts["assigned"] == 20)
        let drained = try await TestDeadlines.eventually(60) { try await engine.outbox(tenant: nil).allSatisfy { !$0.state.isUnfinished } }
        await engine.stopDelivering()
        await delivery.value
        #expect(drained)
        let operations = try await engine.outbox(tenant: nil)
        #expect(operations.allSatisfy { $0.state == .done }, "\(operations.map { "\($0.state) \($0.serials.count)" })")
        #expect(operations.allSatisfy { $0.serials.count <= 3 })
        #expect(try await world.simulator.allAssignments().count == 20)
    }

    @Test func aStopEndsTheDeliveryAndLeavesNothingClaimed() async throws {
        let world = try await Self.bigDistrict(serialsPerRequest: 1)
        defer { world.cleanUp() }
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...20))

        let engine = try Self.pacedEngine(world)
        let delivery = Task { await engine.deliverUntilStopped(pollSeconds: 0.2) }
        let started = try await TestDeadlines.eventually(30) { try await world.simulator.allAssignments().count >= 1 }
        #expect(started)
        await engine.stopDelivering()
        await delivery.value
        // What was claimed and not called went back at once: another worker may take it now.
        let leased = try await engine.outbox(tenant: nil).filter { $0.state.isUnfinished && ($0.leaseExpiresAt ?? .min) > world.clock.now }
        #expect(leased.isEmpty, "still leased: \(leased.map(\.id))")
        #expect(try await engine.outbox(tenant: nil).contains { $0.state.isUnfinished }, "the stop came before the backlog was delivered")
    }
}
