import Allot
import AllotStore
import AllotCore
import Foundation
import Testing

/// Issue 12, point 3: the events people act on, each once per occurrence however often the
/// engine looks (every sync, every batch).
@Suite(.timeLimit(.minutes(5))) struct AlertEventsTests {
    static let day: Int64 = 86_400

    func kinds(_ world: World, _ kind: String) async throws -> [Event] {
        try await world.engine.events(tenant: "springfield", limit: 1_000, kind: kind)
    }

    @Test func tokenExpiringIsRecordedAt30And15And7And1DaysEachOnce() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let token = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        var days: [Int] = []
        // From 40 days before expiry, a sync every 12 hours, as the schedule would.
        world.clock.advance(token.expiresAt - 40 * Self.day - world.clock.now)
        while world.clock.now < token.expiresAt - 3_600 {
            _ = try await world.engine.sync(tenant: "springfield")
            world.clock.advance(Self.day / 2)
        }
        for event in try await kinds(world, "token_expiring").reversed() {
            let detail = try JSONDecoder().decode(ExpiringDetail.self, from: Data(event.detail.utf8))
            #expect(detail.expiresAt == token.expiresAt)
            #expect(event.tokenId == token.id)
            days.append(detail.daysLeft)
        }
        #expect(days == [30, 15, 7, 1])
    }

    @Test func licencesLowFiresOncePerCrossingAndAgainAfterARecovery() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 15)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        // Pages: 10 + 5 = 15 licences. 20% is 3, 10% is 1.5.
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...12))   // 3 left: not below 20%
        #expect(try await kinds(world, "licences_low").isEmpty)
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 13...13))  // 2 left: below 20%
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 14...14))  // 1 left: below 10%
        _ = try await world.engine.sync(tenant: "springfield")                                          // no change: nothing new
        _ = try await world.engine.revoke(tenant: "springfield", world.items(World.sharedApp, 10...14))   // 6 left: recovered
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 10...14))  // 1 left again
        let crossings = try await kinds(world, "licences_low").reversed().map {
            try JSONDecoder().decode(LicencesLowDetail.self, from: Data($0.detail.utf8))
        }
        #expect(crossings.map(\.belowPercent) == [20, 10, 10])
        #expect(crossings.allSatisfy { $0.adamId == World.sharedApp.adamId && $0.total == 15 })
        #expect(crossings.map(\.available) == [2, 1, 1])

        // A tenant's own thresholds; `none` turns the alert off.
        #expect(try await world.engine.licenceThresholds(tenant: "springfield") == .default)
        try await world.engine.setLicenceThresholds(tenant: "springfield", try LicenceThresholds(parsing: "none"))
        _ = try await world.engine.revoke(tenant: "springfield", world.items(World.sharedApp, 1...14))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...15))
        #expect(try await kinds(world, "licences_low").count == 3)
    }

    @Test func overAllocatedAndTokenAlertsAreRecordedOncePerOnset() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 3)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.mainOnlyApp, 1...3))
        _ = try await world.engine.push(tenant: "springfield")
        try await world.simulator.setTotal(location: "1001", adamId: World.mainOnlyApp.adamId, pricingParam: "STDQ", total: 1)
        try await world.simulator.revokeToken(location: "1002")
        for _ in 0..<3 { _ = try await world.engine.sync(tenant: "springfield") }
        // One name for the condition, recorded on its onset, not on every sync that finds it;
        // the old name finds the same events.
        #expect(try await kinds(world, "over_allocated").count == 1, "the alert, once")
        #expect(try await kinds(world, "over_allocation").count == 1, "the old name is an alias")
        // Syncs that found Apple unchanged recorded no pool_synced.
        let synced = try await kinds(world, "pool_synced").count
        _ = try await world.engine.sync(tenant: "springfield")
        #expect(try await kinds(world, "pool_synced").count == synced)
        #expect(try await kinds(world, "token_revoked").count == 1)
        // Bought back: the alert is armed again for the next refund.
        try await world.simulator.setTotal(location: "1001", adamId: World.mainOnlyApp.adamId, pricingParam: "STDQ", total: 3)
        _ = try await world.engine.sync(tenant: "springfield")
        try await world.simulator.setTotal(location: "1001", adamId: World.mainOnlyApp.adamId, pricingParam: "STDQ", total: 2)
        _ = try await world.engine.sync(tenant: "springfield")
        #expect(try await kinds(world, "over_allocated").count == 2)
    }
}

/// Issue 12, point 1: the schedule's due times live in the ledger, so two engines on one
/// database (two `allot serve` processes, later two nodes) sync each due token once.
@Suite(.timeLimit(.minutes(5))) struct ReconcileScheduleEngineTests {
    @Test func twoEnginesOnOneLedgerSyncEachDueTokenOnce() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        var tokens: [TokenRecord] = []
        for uId in ["1001", "1002", "2001"] {
            tokens.append(try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile(uId)))
        }
        let other = try world.reopened()
        let interval = SyncInterval(seconds: 600)
        // First pass: every token gets its place in the interval; none is due yet.
        #expect(try await world.engine.reconcileDue(interval: interval).synced.isEmpty)
        for round in 1...3 {
            world.clock.advance(interval.seconds + 10)
            let engine = world.engine
            async let first = engine.reconcileDue(interval: interval)
            async let second = other.reconcileDue(interval: interval)
            let (a, b) = try await (first, second)
            #expect(a.synced.count + b.synced.count == tokens.count, "round \(round): \(a.synced.count) + \(b.synced.count)")
            #expect(Set(a.synced.map(\.tokenId)).isDisjoint(with: b.synced.map(\.tokenId)))
            // Every token was synced this round (pool_synced is written on change only).
            for token in try await world.engine.tokenList(tenant: "springfield") {
                #expect(token.lastSyncAt == world.clock.now, "round \(round): token \(token.id)")
            }
        }
        // Each token's next sync is recorded, within one interval from now.
        for token in tokens {
            let next = try #require(try await world.engine.nextScheduledSync(token: token.id))
            #expect(next > world.clock.now && next <= world.clock.now + interval.seconds + 2)
        }
    }
}

