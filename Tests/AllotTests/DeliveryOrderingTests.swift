import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Operations on one (token, asset, serial) reach Apple in commit order, whatever retries,
/// backoff and PENDING events do (issue 10, point 1).
@Suite(.timeLimit(.minutes(5))) struct DeliveryOrderingTests {
    static let springfield = "springfield"

    /// Pushes until nothing is left, moving the clock past every backoff; bounded.
    static func pushToCompletion(_ world: World) async throws -> PushReport {
        var report = try await world.engine.push()
        for _ in 0..<40 where report.unfinished > 0 {
            world.clock.advance(1_000)
            report = try await world.engine.push()
        }
        return report
    }

    @Test(arguments: AppleTransport.allCases)
    func aRevokeHeldBackBy503IsNotOvertakenByTheNextAssignOfTheSameDevice(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        _ = try await world.engine.addToken(tenant: Self.springfield, fileContents: world.tokenFile("1001"))
        let device = world.items(World.mainOnlyApp, 1...1)
        _ = try await world.engine.assign(tenant: Self.springfield, device)
        _ = try await world.engine.push()
        #expect(try await world.appleAssignments().count == 1)

        try await world.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: 5), count: 1)
        _ = try await world.engine.revoke(tenant: Self.springfield, device)
        #expect(try await world.engine.push().retrying == 1)
        // The next assign comes from another process (`allot assign` pushes at once), which
        // knows nothing of the first one's Retry-After: within it the revoke is not due, and
        // the assign must not go before it.
        let next = try world.reopened()
        _ = try await next.assign(tenant: Self.springfield, device)
        let early = try await next.push()
        #expect(early.sent == 0)

        world.clock.advance(6)
        let report = try await Self.pushToCompletion(world)
        #expect(report.unfinished == 0)
        #expect(try await world.ledgerAssignments().count == 1)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test func anAssignWaitsWhileTheRevokeBeforeItIsStillPendingAtApple() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 2)
        _ = try await world.engine.addToken(tenant: Self.springfield, fileContents: world.tokenFile("1001"))
        let device = world.items(World.mainOnlyApp, 1...1)
        _ = try await world.engine.assign(tenant: Self.springfield, device)
        _ = try await world.engine.push()

        // PENDING for longer than one push polls.
        try await world.simulator.setPendingPolls(1_000)
        _ = try await world.engine.revoke(tenant: Self.springfield, device)
        _ = try await world.engine.assign(tenant: Self.springfield, device)
        // Another device's assign shares nothing with the revoke: it goes at once.
        _ = try await world.engine.assign(tenant: Self.springfield, world.items(World.mainOnlyApp, 2...2))
        var report = try await world.engine.push()
        let outbox = try await world.engine.outbox(tenant: Self.springfield).filter { $0.state != .done }
        let waiting = try #require(outbox.first { $0.kind == .associate && $0.serials == [World.serial(1).value] })
        #expect(waiting.attempts == 0)
        #expect(outbox.contains { $0.kind == .disassociate && $0.state == .sent })
        #expect(outbox.contains { $0.kind == .associate && $0.serials == [World.serial(2).value] && $0.state == .sent })

        // Still PENDING after ten minutes: sent again, and this time Apple completes it.
        try await world.simulator.setPendingPolls(0)
        world.clock.advance(601)
        for _ in 0..<10 where report.unfinished > 0 { report = try await world.engine.push() }
        #expect(report.unfinished == 0)
        #expect(try await world.ledgerAssignments().count == 2)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    /// The property of issue 10: random assign / revoke / retire batches on a few devices and
    /// two tokens, with random 503s, 429s, failed events and PENDING events, pushed at random
    /// moments and then to completion: Apple then holds exactly what the ledger holds.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomBatchesUnderRandomFaultsEndWithAppleEqualToTheLedger(seed: UInt64) async throws {
        let world = try await World()
        defer { world.cleanUp() }
        var random = SplitMix64(seed: seed)
        let devices = 8
        try await world.tenant(devices: devices)
        _ = try await world.engine.addToken(tenant: Self.springfield, fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: Self.springfield, fileContents: world.tokenFile("1002"))
        // Fewer faults than the backoff's attempt limit, so no operation is given up on.
        var faultsLeft = 8
        for _ in 0..<30 {
            let lower = Int.random(in: 1...devices, using: &random)
            let upper = min(devices, lower + Int.random(in: 0...2, using: &random))
            let app = Bool.random(using: &random) ? World.sharedApp : World.mainOnlyApp
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45: _ = try await world.engine.assign(tenant: Self.springfield, world.items(app, lower...upper))
            case 45..<80: _ = try await world.engine.revoke(tenant: Self.springfield, world.items(app, lower...upper))
            case 80..<85: _ = try await world.engine.retireDevices(tenant: Self.springfield, serials: [World.serial(lower).value])
            default:
                guard faultsLeft > 0 else { break }
                faultsLeft -= 1
                switch Int.random(in: 0..<4, using: &random) {
                case 0: try await world.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: Int.random(in: 0...5, using: &random)), count: 1)
                case 1: try await world.simulator.injectFaults(.tooManyRequests, count: 1)
                case 2: try await world.simulator.failNextEvents(count: 1)
                default: try await world.simulator.setPendingPolls(Int.random(in: 0...2, using: &random))
                }
            }
            if Bool.random(using: &random) { _ = try await world.engine.push() }
            world.clock.advance(Int64.random(in: 0...4, using: &random))
        }
        try await world.simulator.setPendingPolls(0)
        let report = try await Self.pushToCompletion(world)
        #expect(report.unfinished == 0)
        #expect(report.failed == 0)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }
}
