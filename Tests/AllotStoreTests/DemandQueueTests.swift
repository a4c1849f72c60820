import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// The queue of unmet demand on the ledger (issue 14 point 1). Every test makes its ledger with
/// `LedgerFixture` (the one factory), so the same tests run against each backend.
@Suite(.timeLimit(.minutes(5))) struct DemandQueueTests {
    static let app = AssetKey(adamId: "361309726")

    /// A tenant, one token holding `total` licences of the app, and `devices` devices.
    func world(_ backend: TestBackend, _ label: String = #function, total: Int, devices: Int) throws -> (LedgerFixture, Tenant, TokenID, [String]) {
        let f = try LedgerFixture(backend, label)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(Self.app, total: total, apple: 0)])
        let serials = try f.devices(tenant, prefix: "QUE", count: devices)
        return (f, tenant, token, serials)
    }

    func queued(_ f: LedgerFixture, _ tenant: Tenant) throws -> [String] {
        try f.ledger.queue(tenant: tenant.id, asset: Self.app).map(\.serialNumber)
    }

    @Test(arguments: TestBackend.all) func devicesThatFindNoLicenceWaitInOrderAndAreServedWhenARevocationGivesOneBack(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 2, devices: 5)
        let outcome = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        #expect(outcome.counts == ["assigned": 2, "queued": 3])
        #expect(outcome.items.filter { $0.result == .queued }.allSatisfy { $0.reason != nil && $0.tokenId == nil })
        let entries = try f.ledger.queue(tenant: tenant.id)
        #expect(entries.map(\.serialNumber) == Array(serials[2...]))
        #expect(entries.map(\.position) == [1, 2, 3])

        _ = try f.revoke(tenant, Self.app, [serials[0]])
        // The revoke served the queue in its own write: the head, and only as many as are free.
        let holding = try f.ledger.holders(tenant: tenant.id, asset: Self.app, limit: 10).holdings.map(\.serialNumber)
        #expect(Set(holding) == [serials[1], serials[2]])
        #expect(try queued(f, tenant) == [serials[3], serials[4]])
        #expect(try f.pool(TokenID(1), Self.app) == PoolCounts(total: 2, here: 2, elsewhere: 0))
        #expect(try f.count("events", where: "kind = 'queue_served'") == 1)
        #expect(try f.count("outbox", where: "kind = 'associate'") == 2, "served as any batch: Apple is told")
        #expect(try Workflows(f.ledger).serveQueue(tenant: tenant, asset: Self.app) == nil, "nothing free: nothing served")
        #expect(try ledgerInvariantViolations(f.ledger.database).isEmpty)
    }

    @Test(arguments: TestBackend.all) func aRaisedTotalServesAsManyAsItGives(_ backend: TestBackend) throws {
        let (f, tenant, token, serials) = try world(backend, total: 1, devices: 6)
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        try f.snapshot(tenant, token, [(Self.app, total: 4, apple: 0)])
        let served = try #require(try Workflows(f.ledger).serveQueue(tenant: tenant, asset: Self.app))
        #expect(served.outcome.items.map(\.serialNumber) == Array(serials[1...3]))
        #expect(try queued(f, tenant) == Array(serials[4...]))
    }

    @Test(arguments: TestBackend.all) func queueingAgainKeepsTheDevicesPlace(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 0, devices: 3)
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: [serials[1], serials[0]].map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        let again = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        #expect(again.counts == ["queued": 3])
        #expect(try queued(f, tenant) == [serials[1], serials[0], serials[2]])
    }

    @Test(arguments: TestBackend.all) func withoutQueueingTheResultIsStillNoLicenceAndNothingWaits(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 0, devices: 2)
        #expect(try f.assign(tenant, Self.app, serials).counts == ["no_license": 2])
        #expect(try f.ledger.queue(tenant: tenant.id).isEmpty)
    }

    @Test(arguments: TestBackend.all) func anAllOrNothingOrDryRunBatchQueuesNothing(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 1, devices: 3)
        let items = serials.map { BatchItem(asset: Self.app, serial: $0) }
        let before = try f.contents()
        let refused = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items, mode: .allOrNothing, queue: true)
        #expect(!refused.committed)
        #expect(refused.counts == ["assigned": 1, "queued": 2], "a queued device did not get the app: all-or-nothing refuses")
        let dry = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: items, mode: .dryRun, queue: true)
        #expect(dry.counts == ["assigned": 1, "queued": 2])
        #expect(try f.contents() == before)
        #expect(try f.ledger.queue(tenant: tenant.id).isEmpty)
    }

    @Test(arguments: TestBackend.all) func revokingAnAppFromAWaitingDeviceTakesItOutOfThatQueue(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 0, devices: 3)
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        let revoked = try f.revoke(tenant, Self.app, [serials[1]])
        #expect(revoked.counts == ["not_assigned": 1])
        #expect(revoked.items.first?.reason?.contains("queue") == true)
        #expect(try queued(f, tenant) == [serials[0], serials[2]])
    }

    @Test(arguments: TestBackend.all) func aRetiredDeviceLeavesEveryQueue(_ backend: TestBackend) throws {
        let (f, tenant, token, serials) = try world(backend, total: 0, devices: 3)
        let other = AssetKey(adamId: "361285480")
        try f.snapshot(tenant, token, [(Self.app, total: 0, apple: 0), (other, total: 0, apple: 0)])
        for app in [Self.app, other] {
            _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: app, serial: $0) }, queue: true)
        }
        _ = try f.ledger.retireDevices(tenant: tenant.id, serials: [serials[0]])
        #expect(try f.ledger.queue(tenant: tenant.id).allSatisfy { $0.serialNumber != serials[0] })
        #expect(try f.ledger.queue(tenant: tenant.id).count == 4)
    }

    @Test(arguments: TestBackend.all) func cancellingTakesDevicesOutAndNamesThoseThatWereNotWaiting(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 0, devices: 3)
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.prefix(2).map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        let report = try f.ledger.cancelQueued(tenant: tenant.id, asset: Self.app, serials: [serials[0], serials[2]])
        #expect(report.cancelled == [serials[0]])
        #expect(report.notQueued == [serials[2]])
        #expect(try queued(f, tenant) == [serials[1]])
        let before = try f.contents()
        #expect(throws: AllotError.self) { try f.ledger.cancelQueued(tenant: tenant.id, asset: Self.app, serials: [serials[1], "bad"]) }
        #expect(throws: AllotError.self) { try f.ledger.cancelQueued(tenant: tenant.id, asset: AssetKey(adamId: "1"), serials: [serials[1]]) }
        #expect(try f.contents() == before)
        #expect(try queued(f, tenant) == [serials[1]])
    }

    @Test(arguments: TestBackend.all) func queuesAreSealedPerTenant(_ backend: TestBackend) throws {
        let (f, tenant, _, serials) = try world(backend, total: 0, devices: 2)
        let other = try f.tenant("shelbyville")
        let otherToken = try f.token(other, uid: "2001")
        try f.snapshot(other, otherToken, [(Self.app, total: 5, apple: 0)])
        _ = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: Self.app, serial: $0) }, queue: true)
        #expect(try f.ledger.queue(tenant: other.id).isEmpty)
        #expect(try Workflows(f.ledger).serveQueue(tenant: other, asset: Self.app) == nil, "another tenant's free licences serve nobody here")
        #expect(try queued(f, tenant) == serials)
    }
}

/// Random revocations, total changes and retirements interleaved with queued demand, against a
/// model simple enough to be obviously right: the queue is served in order, never above the
/// pool, never twice. The engine serves after every change that can free licences; so does this.
@Suite(.timeLimit(.minutes(5))) struct DemandQueuePropertyTests {
    static let steps = 600

    struct Model {
        var total = 3
        var holders: [String] = []
        var queue: [String] = []
        var retired = Set<String>()
        var free: Int { max(0, total - holders.count) }

        /// Serving: the head of the queue gets what is free, in order.
        mutating func serve() -> [String] {
            let served = Array(queue.prefix(free))
            queue.removeFirst(served.count)
            holders += served
            return served
        }
    }

    @Test(arguments: TestBackend.all, [UInt64(0x0DE_A4D1), 0xF1F0_0002])
    func randomChangesServeTheQueueInOrderNeverAboveThePoolNeverTwice(backend: TestBackend, seed: UInt64) throws {
        let f = try LedgerFixture(backend, "queueproperty\(seed)")
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        let app = DemandQueueTests.app
        var model = Model()
        try f.snapshot(tenant, token, [(app, total: model.total, apple: 0)])
        let serials = try f.devices(tenant, prefix: "PRO", count: 40)
        var random = SplitMix64(seed: seed)
        var everServed = 0

        for step in 0..<Self.steps {
            let live = serials.filter { !model.retired.contains($0) }
            guard !live.isEmpty else { break }
            let device = live[Int(random.next() % UInt64(live.count))]
            var description = ""
            var served: [String] = []
            let holdersBefore = Set(model.holders)
            let hereBefore = try #require(try f.pool(token, app)).here
            switch random.next() % 10 {
            case 0...3:
                description = "assign --queue \(device)"
                let outcome = try Workflows(f.ledger).runBatch(tenant: tenant, direction: .assign, items: [BatchItem(asset: app, serial: device)], queue: true)
                let expected: ItemResult
                if model.holders.contains(device) {
                    expected = .alreadyAssigned
                } else if model.free > 0 {
                    expected = .assigned
                    model.holders.append(device)
                } else {
                    expected = .queued
                    if !model.queue.contains(device) { model.queue.append(device) }
                }
                #expect(outcome.items.first?.result == expected, "seed \(seed) step \(step): \(description)")
            case 4...5:
                description = "revoke \(device)"
                let waiting = try f.ledger.queue(tenant: tenant.id, asset: app).map(\.serialNumber)
                _ = try f.revoke(tenant, app, [device])
                model.holders.removeAll { $0 == device }
                model.queue.removeAll { $0 == device }
                // The revoke served the queue in its own write: the devices that were waiting
                // and hold the app now, in the queue's order.
                let holding = Set(try f.ledger.holders(tenant: tenant.id, asset: app, limit: 1_000).holdings.map(\.serialNumber))
                served = waiting.filter { holding.contains($0) }
                #expect(served == model.serve(), "seed \(seed) step \(step): \(description)")
                #expect(try Workflows(f.ledger).serveQueue(tenant: tenant, asset: app) == nil,
                        "seed \(seed) step \(step): nothing left to serve after \(description)")
            case 6...7:
                model.total = Int(random.next() % 8)
                description = "total \(model.total)"
                try f.snapshot(tenant, token, [(app, total: model.total, apple: 0)])
                served = try Workflows(f.ledger).serveQueue(tenant: tenant, asset: app)?.outcome.items.filter { $0.result == .assigned }.map(\.serialNumber) ?? []
                #expect(served == model.serve(), "seed \(seed) step \(step): \(description)")
            default:
                description = "retire \(device)"
                _ = try f.ledger.retireDevices(tenant: tenant.id, serials: [device])
                model.retired.insert(device)
                model.holders.removeAll { $0 == device }
                model.queue.removeAll { $0 == device }
                served = try Workflows(f.ledger).serveQueue(tenant: tenant, asset: app)?.outcome.items.filter { $0.result == .assigned }.map(\.serialNumber) ?? []
                #expect(served == model.serve(), "seed \(seed) step \(step): \(description)")
            }
            // Never twice: a device served did not hold the app already.
            #expect(Set(served).isDisjoint(with: holdersBefore), "seed \(seed) step \(step) (\(description))")
            everServed += served.count
            let queue = try f.ledger.queue(tenant: tenant.id, asset: app)
            #expect(queue.map(\.serialNumber) == model.queue, "seed \(seed) step \(step) (\(description)): the queue's order")
            #expect(queue.map(\.position) == (0..<queue.count).map { $0 + 1 })
            let pool = try #require(try f.pool(token, app))
            #expect(pool.here == model.holders.count, "seed \(seed) step \(step) (\(description))")
            // Never above the pool: serving and assigning spend only free licences; only a
            // lowered total may leave a pool above it, and then nothing is served.
            if pool.here > hereBefore { #expect(pool.here <= pool.total, "seed \(seed) step \(step) (\(description))") }
            #expect(Set(model.holders).count == model.holders.count)
            if step % 100 == 99 { #expect(try ledgerInvariantViolations(f.ledger.database).isEmpty) }
            if !queue.map(\.serialNumber).elementsEqual(model.queue) { return }
        }
        #expect(everServed > 0, "the generator served somebody")
    }
}
