import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import PostgresTestCluster
import Testing

/// The ledgers an engine suite runs on: SQLite always, PostgreSQL when a server is at hand.
enum EngineBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    static let available: [EngineBackend] = PostgresTestServer.server != nil ? [.sqlite, .postgres] : [.sqlite]
    var testDescription: String { rawValue }

    /// A world on this backend (a fresh PostgreSQL database, dropped afterwards).
    func withWorld(_ label: String, seed: String, _ body: (World) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let world = try await World(seed: seed)
            defer { world.cleanUp() }
            try await body(world)
        case .postgres:
            let server = try #require(PostgresTestServer.server)
            let name = try server.createDatabase(label)
            defer { server.dropDatabase(name) }
            let world = try await World(seed: seed, database: server.url(name))
            defer { world.cleanUp() }
            try await body(world)
        }
    }
}

/// An answer of `assigned` is a promise Apple keeps: delivery tells Apple of a licence freed by
/// a revoke only once Apple applied the revoke (`DeliveryCapacity`), and a sync during delivery
/// counts what is on its way, so it never invents licences elsewhere.
// Ten minutes, not five: its two-node case on PostgreSQL takes about 75 s on a quiet machine
// and over five minutes beside `pgbench` (scripts/suite-under-load.sh); the limit guards
// against a hang, not against a slow disk.
@Suite(.timeLimit(.minutes(10))) struct AnsweredMeansHeldTests {
    static let slug = "springfield"
    static let app = AssetKey(adamId: "361309726")

    /// One location with `total` licences of one app.
    static func seed(total: Int, secondLocationTotal: Int? = nil) -> String {
        let second = secondLocationTotal.map { """
            , {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
               "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": \($0), "deviceAssignable": true, "revocable": true}]}
            """ } ?? ""
        return """
            {"locations": [
              {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
               "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": \(total), "deviceAssignable": true, "revocable": true}]}
              \(second)
            ]}
            """
    }

    static func serial(_ index: Int) -> String { World.serial(index).value }
    static func item(_ index: Int) -> [BatchItem] { [BatchItem(asset: app, serial: serial(index))] }

    /// Pushes (from every node given, at once) until nothing is left, moving the clock past
    /// every backoff and poll delay; bounded. Returns every serial released on the way.
    static func pushToCompletion(_ world: World, nodes: [Allot]) async throws -> (released: [String], unfinished: Int) {
        var released: [String] = []
        var unfinished = 0
        for _ in 0..<60 {
            let reports = try await withThrowingTaskGroup(of: PushReport.self) { group in
                for node in nodes { group.addTask { try await node.push() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            released += reports.flatMap(\.released)
            unfinished = try await world.engine.outbox(tenant: slug).count { $0.state.isUnfinished }
            if unfinished == 0 { break }
            world.clock.advance(1_000)
        }
        return (released, unfinished)
    }

    /// Licences Apple counts on each location that this ledger did not assign, as the ledger
    /// records them (`assigned_elsewhere`).
    static func elsewhere(_ engine: Allot) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for pool in try await engine.apps(tenant: slug) {
            for token in pool.tokens { result[token.locationUid, default: 0] += token.assigned - token.assignedHere }
        }
        return result
    }

    static func appleSerials(_ world: World) async throws -> Set<String> {
        Set(try await world.simulator.allAssignments().map(\.serialNumber))
    }

    // MARK: The reproductions

    /// Assign X, revoke X, assign Y on a pool of one, back to back: Y was answered `assigned`
    /// and holds the licence at Apple once delivery drained, whatever X's associate had reached
    /// (nothing, PENDING at Apple, applied). Before, Apple refused Y (9709) and allot released it.
    @Test(arguments: EngineBackend.available)
    func aLicenceRevokedAndAssignedAgainIsHeldByTheNewDevice(backend: EngineBackend) async throws {
        try await backend.withWorld("reuse", seed: Self.seed(total: 1)) { world in
            try await world.tenant(devices: 2)
            _ = try await world.engine.addToken(tenant: Self.slug, fileContents: world.tokenFile("1001"))
            for round in 0..<6 {
                let (x, y) = round % 2 == 0 ? (1, 2) : (2, 1)
                #expect(try await world.engine.assign(tenant: Self.slug, Self.item(x)).items.map(\.result) == [.assigned])
                switch round / 2 {
                case 1:
                    // X's associate accepted and still PENDING at Apple.
                    try await world.simulator.setPendingPolls(3)
                    _ = try await world.engine.push()
                case 2:
                    // X held at Apple, confirmed.
                    _ = try await Self.pushToCompletion(world, nodes: [world.engine])
                default:
                    break
                }
                #expect(try await world.engine.revoke(tenant: Self.slug, Self.item(x)).items.map(\.result) == [.revoked])
                #expect(try await world.engine.assign(tenant: Self.slug, Self.item(y)).items.map(\.result) == [.assigned])
                try await world.simulator.setPendingPolls(0)
                let delivered = try await Self.pushToCompletion(world, nodes: [world.engine])
                #expect(delivered.released.isEmpty, "round \(round): Apple refused \(delivered.released)")
                #expect(delivered.unfinished == 0)
                #expect(try await Self.appleSerials(world) == [Self.serial(y)], "round \(round)")
                #expect(try await world.appleAssignments() == world.ledgerAssignments())
                // Y gives its licence back for the next round.
                _ = try await world.engine.revoke(tenant: Self.slug, Self.item(y))
                _ = try await Self.pushToCompletion(world, nodes: [world.engine])
            }
            #expect(try await world.engine.events(tenant: Self.slug, limit: 500, kind: EventKind.licencesReleased.rawValue).isEmpty)
        }
    }

    /// The same on two nodes of one ledger: X held at Apple; one node revokes it and Apple keeps
    /// that revoke PENDING; the other node assigns the licence to Y and both deliver at once.
    /// Apple would apply Y's associate before X's disassociate if it were told, and refuse it.
    @Test(arguments: EngineBackend.available)
    func twoNodesNeverLetAppleRefuseAnAnsweredDevice(backend: EngineBackend) async throws {
        try await backend.withWorld("twonodes", seed: Self.seed(total: 1)) { world in
            try await world.tenant(devices: 2)
            _ = try await world.engine.addToken(tenant: Self.slug, fileContents: world.tokenFile("1001"))
            let nodes = [world.engine, try world.reopened()]
            for round in 0..<4 {
                let (x, y) = round % 2 == 0 ? (1, 2) : (2, 1)
                _ = try await nodes[0].assign(tenant: Self.slug, Self.item(x))
                _ = try await Self.pushToCompletion(world, nodes: nodes)
                try await world.simulator.setPendingPolls(50)
                #expect(try await nodes[1].revoke(tenant: Self.slug, Self.item(x)).items.map(\.result) == [.revoked])
                _ = try await nodes[1].push()
                try await world.simulator.setPendingPolls(0)
                #expect(try await nodes[0].assign(tenant: Self.slug, Self.item(y)).items.map(\.result) == [.assigned])
                let delivered = try await Self.pushToCompletion(world, nodes: nodes)
                #expect(delivered.released.isEmpty, "round \(round): Apple refused \(delivered.released)")
                #expect(delivered.unfinished == 0)
                #expect(try await Self.appleSerials(world) == [Self.serial(y)], "round \(round)")
                _ = try await nodes[1].revoke(tenant: Self.slug, Self.item(y))
                _ = try await Self.pushToCompletion(world, nodes: nodes)
            }
        }
    }

    /// Assign 8 of 10, Apple applies them, and a sync runs before delivery confirmed them: the
    /// pool reads 8 here and none elsewhere, and the last 2 licences are still free. The same
    /// when revokes are on their way and Apple has not applied them yet.
    @Test(arguments: EngineBackend.available)
    func aSyncDuringDeliveryInventsNoLicencesElsewhere(backend: EngineBackend) async throws {
        try await backend.withWorld("phantom", seed: Self.seed(total: 10)) { world in
            try await world.tenant(devices: 10)
            _ = try await world.engine.addToken(tenant: Self.slug, fileContents: world.tokenFile("1001"))
            // A node that polls a minute after Apple accepted: Apple applies in between.
            var settings = EngineSettings()
            settings.paceRequests = false
            settings.firstPollDelaySeconds = 60
            let clock = world.clock
            let node = try Allot(databasePath: world.database, apple: world.apple, secrets: SecretBox(key: world.key), settings: settings,
                                 clock: { clock.now })
            let eight = (1...8).flatMap(Self.item)
            #expect(try await node.assign(tenant: Self.slug, eight).counts[ItemResult.assigned.rawValue] == 8)
            #expect(try await node.push().sent == 1)
            _ = try await node.sync(tenant: Self.slug)
            #expect(try await world.simulator.allAssignments().count == 8, "Apple applied the associate before the sync read it")
            #expect(try await Self.elsewhere(node) == ["1001": 0])
            #expect(try await node.assign(tenant: Self.slug, (9...10).flatMap(Self.item)).counts[ItemResult.assigned.rawValue] == 2)

            // Three revokes on their way, not applied at Apple yet.
            world.clock.advance(61)
            _ = try await Self.pushToCompletion(world, nodes: [node])
            try await world.simulator.setPendingPolls(1_000)
            _ = try await node.revoke(tenant: Self.slug, (1...3).flatMap(Self.item))
            _ = try await node.push()
            _ = try await node.sync(tenant: Self.slug)
            #expect(try await world.simulator.allAssignments().count == 10)
            #expect(try await Self.elsewhere(node) == ["1001": 0])
            #expect(try await node.overAllocations(tenant: Self.slug).isEmpty)

            try await world.simulator.setPendingPolls(0)
            world.clock.advance(700)
            let delivered = try await Self.pushToCompletion(world, nodes: [node])
            #expect(delivered.unfinished == 0)
            #expect(try await world.appleAssignments() == world.ledgerAssignments())
        }
    }

    // MARK: The property

    /// Random assign / revoke / retire batches from two nodes on pools kept at capacity (a
    /// merged pool of 2 + 1 licences, six devices), Apple slow (PENDING events), out of order and
    /// failing now and then, deliveries and syncs at random moments, then pushed to completion:
    /// Apple never refuses an associate for want of licences, no sync on the way finds licences
    /// elsewhere, and every device last answered `assigned` (and not revoked or retired since)
    /// holds its licence at Apple at the end.
    @Test(arguments: EngineBackend.available.flatMap { backend in (1...4).map { (backend, UInt64($0)) } })
    func randomBatchesAtCapacityKeepEveryAnsweredLicence(backend: EngineBackend, seed: UInt64) async throws {
        try await backend.withWorld("property", seed: Self.seed(total: 2, secondLocationTotal: 1)) { world in
            var random = SplitMix64(seed: seed)
            let devices = 6
            try await world.tenant(devices: devices)
            _ = try await world.engine.addToken(tenant: Self.slug, fileContents: world.tokenFile("1001"))
            _ = try await world.engine.addToken(tenant: Self.slug, fileContents: world.tokenFile("1002"))
            let nodes = [world.engine, try world.reopened()]
            var answered = Set<String>()
            var retired = Set<String>()
            var released: [String] = []
            var faultsLeft = 6
            for step in 0..<40 {
                let node = nodes[Int.random(in: 0..<2, using: &random)]
                let lower = Int.random(in: 1...devices, using: &random)
                let items = (lower...min(devices, lower + Int.random(in: 0...1, using: &random))).flatMap(Self.item)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<45:
                    for item in try await node.assign(tenant: Self.slug, items).items where item.result == .assigned || item.result == .alreadyAssigned {
                        answered.insert(item.serialNumber)
                    }
                case 45..<75:
                    for item in try await node.revoke(tenant: Self.slug, items).items { answered.remove(item.serialNumber) }
                case 75..<80:
                    let serial = Self.serial(lower)
                    _ = try await node.retireDevices(tenant: Self.slug, serials: [serial])
                    answered.remove(serial)
                    retired.insert(serial)
                case 80..<90:
                    _ = try await node.sync(tenant: Self.slug)
                    #expect(try await Self.elsewhere(node).values.allSatisfy { $0 == 0 }, "step \(step): a sync found licences elsewhere")
                default:
                    guard faultsLeft > 0 else { break }
                    faultsLeft -= 1
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: try await world.simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: Int.random(in: 0...3, using: &random)), count: 1)
                    case 1: try await world.simulator.failNextEvents(count: 1)
                    default: try await world.simulator.setPendingPolls(Int.random(in: 0...2, using: &random))
                    }
                }
                if Bool.random(using: &random) {
                    // Both nodes at once, now and then.
                    if Bool.random(using: &random) {
                        async let first = nodes[0].push()
                        async let second = nodes[1].push()
                        released += try await first.released + second.released
                    } else {
                        released += try await node.push().released
                    }
                }
                world.clock.advance(Int64.random(in: 0...3, using: &random))
            }
            try await world.simulator.setPendingPolls(0)
            let delivered = try await Self.pushToCompletion(world, nodes: nodes)
            released += delivered.released
            #expect(released.isEmpty, "Apple refused answered devices: \(released)")
            #expect(delivered.unfinished == 0)
            #expect(try await world.appleAssignments() == world.ledgerAssignments())
            let atApple = try await Self.appleSerials(world)
            #expect(answered.subtracting(retired).isSubset(of: atApple), "answered but not held: \(answered.subtracting(atApple))")
            _ = try await world.engine.sync(tenant: Self.slug)
            #expect(try await Self.elsewhere(world.engine).values.allSatisfy { $0 == 0 })
        }
    }
}
