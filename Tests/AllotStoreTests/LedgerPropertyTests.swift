import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Thousands of random operations over three tenants, each checked against a model simple enough
/// to be obviously right, and against the invariants of the database itself, after every step.
/// The generator is seeded: a failure names its seed and step, and repeats exactly.
@Suite(.timeLimit(.minutes(5))) struct LedgerPropertyTests {
    /// Steps of one run: fewer on PostgreSQL, whose every statement is a loopback round trip,
    /// to keep the suite about a minute.
    static func steps(_ backend: TestBackend) -> Int { backend == .sqlite ? 2_000 : 250 }

    @Test(arguments: [UInt64(0xA110_7001), 0x5EED_0002], TestBackend.all)
    func randomOperationsKeepTheLedgerEqualToTheModelAndItsInvariants(seed: UInt64, backend: TestBackend) throws {
        var run = try PropertyRun(seed: seed, backend: backend, label: "property\(seed)")
        let steps = Self.steps(backend)
        for step in 0..<steps {
            let description = try run.step()
            let problems = try run.check(thorough: step % 100 == 99 || step == steps - 1)
            if !problems.isEmpty {
                let detail = problems.prefix(10).joined(separator: "\n")
                Issue.record("seed \(seed), step \(step) (\(description)):\n\(detail)")
                return
            }
        }
        // The run did exercise every kind of result (otherwise the generator is too tame).
        // `queued` needs a batch that asks to queue: DemandQueuePropertyTests produces it.
        let seen = Set(run.resultsSeen), expected = Set(ItemResult.allCases).subtracting([.queued, .unknownUser, .invalidUserId])
        #expect(seen.isSuperset(of: expected), "results never produced: \(expected.subtracting(seen))")
        #expect(run.overAllocationsSeen > 0)
    }
}

/// The model: who holds what, from which token, and each pool's counts.
private struct ModelTenant {
    struct Token { let id: TokenID; var state: TokenState; var expiresAt: Int64; var priority: Int }
    struct Pool: Equatable { var total = 0, here = 0, elsewhere = 0 }
    struct Holding: Hashable { let asset: AssetKey; let serial: String }
    struct PoolKey: Hashable { let token: TokenID; let asset: AssetKey }

    let tenant: Tenant
    var tokens: [Token]
    /// Assets known to the tenant, with device_assignable.
    var assets: [AssetKey: Bool] = [:]
    /// Serial → retired.
    var devices: [String: Bool] = [:]
    var holdings: [Holding: TokenID] = [:]
    var pools: [PoolKey: Pool] = [:]
    /// Every serial this tenant may register.
    let universe: [String]

    func usable(_ token: Token, now: Int64) -> Bool { token.state == .active && token.expiresAt > now }

    func free(_ key: PoolKey) -> Int {
        guard let pool = pools[key] else { return 0 }
        return max(0, pool.total - pool.here - pool.elsewhere)
    }

    /// The policy of DESIGN.md, written out again here rather than borrowed from AllotCore.
    func chooseToken(for asset: AssetKey, now: Int64) -> TokenID? {
        let candidates = tokens.filter { usable($0, now: now) && free(PoolKey(token: $0.id, asset: asset)) > 0 }
        return candidates.min { a, b in
            let freeA = free(PoolKey(token: a.id, asset: asset)), freeB = free(PoolKey(token: b.id, asset: asset))
            switch tenant.policy {
            case .mostAvailable:
                if freeA != freeB { return freeA > freeB }
                if a.expiresAt != b.expiresAt { return a.expiresAt > b.expiresAt }
            case .latestExpiry:
                if a.expiresAt != b.expiresAt { return a.expiresAt > b.expiresAt }
                if freeA != freeB { return freeA > freeB }
            case .priority:
                if a.priority != b.priority { return a.priority < b.priority }
            }
            return a.id < b.id
        }?.id
    }

    /// Decides a batch as the design says, changing the model as a committed batch would.
    mutating func plan(_ direction: BatchDirection, _ items: [BatchItem], now: Int64) -> [(ItemResult, String, TokenID?)] {
        items.map { item in
            guard let serial = SerialNumber(item.serial)?.value else { return (.invalidSerial, item.serial, nil) }
            guard let assignable = assets[item.asset] else { return (.unknownApp, serial, nil) }
            if direction == .assign && !assignable { return (.notDeviceAssignable, serial, nil) }
            guard devices[serial] == false else { return (.unknownDevice, serial, nil) }
            let holding = Holding(asset: item.asset, serial: serial)
            switch direction {
            case .assign:
                if holdings[holding] != nil { return (.alreadyAssigned, serial, nil) }
                guard let token = chooseToken(for: item.asset, now: now) else { return (.noLicense, serial, nil) }
                holdings[holding] = token
                pools[PoolKey(token: token, asset: item.asset), default: Pool()].here += 1
                return (.assigned, serial, token)
            case .revoke:
                guard let token = holdings.removeValue(forKey: holding) else { return (.notAssigned, serial, nil) }
                pools[PoolKey(token: token, asset: item.asset)]!.here -= 1
                return (.revoked, serial, token)
            }
        }
    }
}

private struct PropertyRun {
    static let catalogue = [AssetKey(adamId: "361309726"), AssetKey(adamId: "284882215", pricingParam: .plus),
                            AssetKey(adamId: "1000001")]
    /// Never device-assignable: every batch naming it for an assign gets not_device_assignable.
    static let bookLike = AssetKey(adamId: "5000")
    /// In no tenant's tokens.
    static let unknown = AssetKey(adamId: "777")
    static let sharedSerials = (0..<4).map { testSerial("SHARED", $0) }

    var rng: SplitMix64
    let fixture: LedgerFixture
    var tenants: [ModelTenant] = []
    var resultsSeen: [ItemResult] = []
    var overAllocationsSeen = 0
    /// Pools an assign batch just drew on: each must be within its total.
    var drawnOn: [(TokenID, AssetKey)] = []

    var ledger: Ledger { fixture.ledger }
    var now: Int64 { fixture.clock.now }

    init(seed: UInt64, backend: TestBackend, label: String) throws {
        rng = SplitMix64(seed: seed)
        fixture = try LedgerFixture(backend, label)
        let policies: [AllocationPolicy] = [.mostAvailable, .latestExpiry, .priority]
        for index in 0..<3 {
            let tenant = try fixture.tenant("tenant-\(index)", policy: policies[index])
            var tokens: [ModelTenant.Token] = []
            for k in 0..<(2 + index % 2 + (index == 2 ? 1 : 0)) {
                // The first token of each tenant expires during the run.
                let days: Int64 = k == 0 ? Int64(20 + index * 10) : Int64(300 + 50 * k)
                let priority = Int(rng.next() % 3)
                let id = try fixture.token(tenant, uid: "\(index)-\(k)", expiresInDays: days, priority: priority)
                tokens.append(.init(id: id, state: .active, expiresAt: now + days * dayInSeconds, priority: priority))
            }
            let universe = (0..<30).map { testSerial("T\(index)D", $0) } + (index < 2 ? Self.sharedSerials : [])
            tenants.append(ModelTenant(tenant: tenant, tokens: tokens, universe: universe))
        }
    }

    mutating func random(_ bound: Int) -> Int { Int(rng.next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { random(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[random(values.count)] }

    /// One random operation, applied to both the ledger and the model; what it was.
    mutating func step() throws -> String {
        drawnOn = []
        let t = random(tenants.count)
        let roll = random(100)
        switch roll {
        case 0..<34: return try batch(t, .assign)
        case 34..<56: return try batch(t, .revoke)
        case 56..<68: return try snapshot(t)
        case 68..<76: return try retire(t)
        case 76..<86: return try register(t)
        case 86..<94: return try changeState(t)
        case 94..<97:
            fixture.clock.now += dayInSeconds
            return "a day passes"
        default:
            let k = random(tenants[t].tokens.count)
            let priority = random(4)
            try ledger.setTokenPriority(tenant: tenants[t].tenant.id, token: tenants[t].tokens[k].id, priority)
            tenants[t].tokens[k].priority = priority
            return "priority of token \(tenants[t].tokens[k].id) to \(priority)"
        }
    }

    mutating func randomSerial(_ t: Int) -> String {
        switch random(100) {
        case 0..<80:
            let serial = pick(tenants[t].universe)
            return chance(10) ? "  \(serial.lowercased()) " : serial
        case 80..<88: return pick(tenants[(t + 1) % tenants.count].universe)   // another tenant's
        case 88..<94: return testSerial("NEVER", random(1000))                  // registered nowhere
        default: return pick(["", "short", "'; DROP TABLE devices;--", "SERIAL-WITH-DASH", "ÄÖÜ12345678", String(repeating: "X", count: 15)])
        }
    }

    mutating func randomAsset() -> AssetKey {
        switch random(100) {
        case 0..<88: return pick(Self.catalogue)
        case 88..<94: return Self.bookLike
        default: return Self.unknown
        }
    }

    mutating func batch(_ t: Int, _ direction: BatchDirection) throws -> String {
        let count = 1 + random(14)
        // Mostly one app per batch, as callers send them; sometimes a mixture.
        let single = randomAsset()
        var items: [BatchItem] = []
        for _ in 0..<count {
            items.append(BatchItem(asset: chance(80) ? single : randomAsset(), serial: randomSerial(t)))
        }
        let mode: BatchMode = switch random(100) {
        case 0..<70: .partial
        case 70..<85: .allOrNothing
        default: .dryRun
        }
        var model = tenants[t]
        let expected = model.plan(direction, items, now: now)
        let commits = mode == .partial || (mode == .allOrNothing && expected.allSatisfy { $0.0.isSuccess })
        if commits { tenants[t] = model }

        let outcome = try Workflows(ledger).runBatch(tenant: tenants[t].tenant, direction: direction, items: items, mode: mode)
        let description = "\(direction.rawValue) \(mode.rawValue) of \(count) in tenant \(t)"
        let actual = outcome.items.map { ($0.result, $0.serialNumber, $0.tokenId) }
        guard actual.count == expected.count,
              zip(actual, expected).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2 }) else {
            throw ModelMismatch("\(description): the ledger answered \(actual) but the model expected \(expected) for \(items)")
        }
        guard outcome.committed == commits, (outcome.batchId != nil) == commits else {
            throw ModelMismatch("\(description): committed \(outcome.committed), batch \(String(describing: outcome.batchId)); expected \(commits)")
        }
        resultsSeen += outcome.items.map(\.result)
        if direction == .assign && commits {
            drawnOn = outcome.items.compactMap { item in item.tokenId.map { ($0, AssetKey(adamId: item.adamId, pricingParam: item.pricingParam)) } }
        }
        return description
    }

    mutating func snapshot(_ t: Int) throws -> String {
        let k = random(tenants[t].tokens.count)
        let token = tenants[t].tokens[k].id
        var assets: [SnapshotAsset] = []
        for asset in Self.catalogue + [Self.bookLike] where chance(asset == Self.bookLike ? 50 : 85) {
            assets.append(SnapshotAsset(asset: asset, deviceAssignable: asset != Self.bookLike,
                                        total: random(13), appleAssigned: chance(60) ? 0 : random(5)))
        }
        let report = try ledger.applySnapshot(tenant: tenants[t].tenant.id, token: token, assets: assets)

        var model = tenants[t]
        for key in model.pools.keys where key.token == token {
            model.pools[key]!.total = 0
            model.pools[key]!.elsewhere = 0
        }
        var added = 0
        for asset in assets {
            if model.assets[asset.asset] == nil { added += 1 }
            model.assets[asset.asset] = asset.deviceAssignable
            let key = ModelTenant.PoolKey(token: token, asset: asset.asset)
            // No assignment is confirmed by Apple in this run: Apple's whole count is elsewhere.
            model.pools[key, default: .init()].total = asset.total
            model.pools[key]!.elsewhere = asset.appleAssigned
        }
        tenants[t] = model
        let expectedOver = model.pools.filter { $0.key.token == token && $0.value.here + $0.value.elsewhere > $0.value.total }
            .map { "\($0.key.asset) \($0.value.total) \($0.value.here) \($0.value.elsewhere)" }.sorted()
        let actualOver = report.overAllocated.map { "\($0.adamId):\($0.pricingParam) \($0.total) \($0.assignedHere) \($0.assignedElsewhere)" }.sorted()
        guard actualOver == expectedOver, report.overAllocated.allSatisfy({ $0.tokenId == token && $0.excess > 0 }) else {
            throw ModelMismatch("snapshot of token \(token): over-allocations \(actualOver), expected \(expectedOver)")
        }
        guard report.assetsAdded == added else {
            throw ModelMismatch("snapshot of token \(token): \(report.assetsAdded) assets added, expected \(added)")
        }
        overAllocationsSeen += actualOver.count
        return "snapshot of token \(token) in tenant \(t) with \(assets.count) assets"
    }

    mutating func retire(_ t: Int) throws -> String {
        let registered = tenants[t].devices.keys.sorted()
        guard !registered.isEmpty else { return "nothing to retire" }
        var serials = (0..<(1 + random(3))).map { _ in pick(registered) }
        let refused = chance(10)
        if refused { serials.append(pick([testSerial("NEVER", 1), "bad"])) }
        let description = "retire \(serials) in tenant \(t)"
        if refused {
            let before = try fixture.contents()
            do {
                _ = try ledger.retireDevices(tenant: tenants[t].tenant.id, serials: serials)
                throw ModelMismatch("\(description): accepted an unknown or malformed serial")
            } catch is AllotError {}
            guard try fixture.contents() == before else { throw ModelMismatch("\(description): a refused retire changed rows") }
            return description
        }
        let report = try ledger.retireDevices(tenant: tenants[t].tenant.id, serials: serials)
        var model = tenants[t]
        var lost = Set<String>()
        var revoked = 0
        for (holding, token) in model.holdings where serials.contains(holding.serial) {
            model.holdings[holding] = nil
            model.pools[.init(token: token, asset: holding.asset)]!.here -= 1
            lost.insert(holding.serial)
            revoked += 1
        }
        for serial in serials { model.devices[serial] = true }
        tenants[t] = model
        guard report.revoked == revoked, report.devices == lost.sorted() else {
            throw ModelMismatch("\(description): revoked \(report.revoked) on \(report.devices), expected \(revoked) on \(lost.sorted())")
        }
        return description
    }

    mutating func register(_ t: Int) throws -> String {
        let serials = Array(Set((0..<(1 + random(4))).map { _ in pick(tenants[t].universe) })).sorted()
        let report = try ledger.registerDevices(tenant: tenants[t].tenant.id, serials.map { DeviceInput(serial: SerialNumber($0)!, group: "g") })
        let known = serials.filter { tenants[t].devices[$0] != nil }.count
        for serial in serials { tenants[t].devices[serial] = false }
        guard report.imported == serials.count - known, report.updated == known, report.rejected.isEmpty else {
            throw ModelMismatch("register \(serials): \(report.imported) imported, \(report.updated) updated; expected \(serials.count - known), \(known)")
        }
        return "register \(serials) in tenant \(t)"
    }

    mutating func changeState(_ t: Int) throws -> String {
        let k = random(tenants[t].tokens.count)
        let state: TokenState = chance(55) ? .active : pick([.expired, .revoked, .claimedElsewhere, .invalid])
        try ledger.setTokenState(tenant: tenants[t].tenant.id, token: tenants[t].tokens[k].id, state,
                                 ownerName: state == .claimedElsewhere ? "Apple Configurator 2" : nil, reason: "property test")
        tenants[t].tokens[k].state = state
        return "token \(tenants[t].tokens[k].id) of tenant \(t) to \(state.rawValue)"
    }

    /// The ledger against the model, and the database against its invariants.
    func check(thorough: Bool) throws -> [String] {
        var problems: [String] = []
        let database = ledger.database

        let holdings = Set(try database.query("""
            SELECT t.slug, s.adam_id || ':' || s.pricing_param, d.serial, a.token_id
            FROM assignments a JOIN tenants t ON t.id = a.tenant_id JOIN assets s ON s.id = a.asset_id JOIN devices d ON d.id = a.device_id
            """) { "\($0.string(0)) \($0.string(1)) \($0.string(2)) \($0.int64(3))" })
        let expectedHoldings = Set(tenants.flatMap { m in m.holdings.map { "\(m.tenant.slug) \($0.key.asset) \($0.key.serial) \($0.value.rawValue)" } })
        if holdings != expectedHoldings {
            problems.append("assignments: extra \(holdings.subtracting(expectedHoldings).sorted().prefix(5)), missing \(expectedHoldings.subtracting(holdings).sorted().prefix(5))")
        }

        let pools = Set(try database.query("""
            SELECT t.slug, p.token_id, s.adam_id || ':' || s.pricing_param, p.total, p.assigned_here, p.assigned_elsewhere
            FROM pool p JOIN assets s ON s.id = p.asset_id JOIN tenants t ON t.id = s.tenant_id
            """) { "\($0.string(0)) \($0.int64(1)) \($0.string(2)) \($0.int(3)) \($0.int(4)) \($0.int(5))" })
        let expectedPools = Set(tenants.flatMap { m in
            m.pools.map { "\(m.tenant.slug) \($0.key.token.rawValue) \($0.key.asset) \($0.value.total) \($0.value.here) \($0.value.elsewhere)" }
        })
        if pools != expectedPools {
            problems.append("pools: extra \(pools.subtracting(expectedPools).sorted().prefix(5)), missing \(expectedPools.subtracting(pools).sorted().prefix(5))")
        }

        let devices = Set(try database.query("SELECT t.slug, d.serial, d.retired_at IS NOT NULL FROM devices d JOIN tenants t ON t.id = d.tenant_id") {
            "\($0.string(0)) \($0.string(1)) \($0.bool(2))"
        })
        let expectedDevices = Set(tenants.flatMap { m in m.devices.map { "\(m.tenant.slug) \($0.key) \($0.value)" } })
        if devices != expectedDevices {
            problems.append("devices: extra \(devices.subtracting(expectedDevices).sorted().prefix(5)), missing \(expectedDevices.subtracting(devices).sorted().prefix(5))")
        }

        // No assign took a pool above its total.
        for (token, asset) in drawnOn {
            let counts = try fixture.pool(token, asset)
            if let counts, counts.here + counts.elsewhere > counts.total {
                problems.append("an assign batch took pool \(token) \(asset) above its total: \(counts)")
            }
        }

        // The merged pool: counts summed over usable tokens only.
        for m in tenants {
            for merged in try ledger.mergedPools(tenant: m.tenant.id) {
                let asset = AssetKey(adamId: merged.adamId, pricingParam: PricingParam(rawValue: merged.pricingParam)!)
                let usable = m.tokens.filter { m.usable($0, now: now) }
                let keys = usable.map { ModelTenant.PoolKey(token: $0.id, asset: asset) }.filter { m.pools[$0] != nil }
                let total = keys.reduce(0) { $0 + m.pools[$1]!.total }
                let available = keys.reduce(0) { $0 + m.free($1) }
                let onUnusable = m.tokens.filter { !m.usable($0, now: now) }
                    .reduce(0) { $0 + (m.pools[.init(token: $1.id, asset: asset)]?.here ?? 0) }
                if merged.total != total || merged.available != available || merged.assignedOnUnusableTokens != onUnusable {
                    problems.append("merged pool of \(asset) in \(m.tenant.slug): total \(merged.total) available \(merged.available) on unusable \(merged.assignedOnUnusableTokens); expected \(total), \(available), \(onUnusable)")
                }
            }
        }

        problems += try ledgerInvariantViolations(database, thorough: thorough)
        return problems
    }
}

private struct ModelMismatch: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
