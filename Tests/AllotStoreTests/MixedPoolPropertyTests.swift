import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Devices and people drawing on one merged pool: random batches of both, users retired and
/// imported again, checked after every step against a model that knows nothing of tokens (per
/// app: a total, who holds it), and against the database's invariants. Never above the total,
/// device and user assignments counted together once; never a person twice, whatever number of
/// locations they are registered at. Seeded: a failure names its seed and step.
@Suite(.timeLimit(.minutes(5))) struct MixedPoolPropertyTests {
    static func steps(_ backend: TestBackend) -> Int { backend == .sqlite ? 400 : 80 }

    @Test(arguments: [UInt64(0x05E7_0001), 0x05E7_0002], TestBackend.all)
    func devicesAndUsersNeverTakeAPoolAboveItsTotalNorAPersonTwice(seed: UInt64, backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "mixed\(seed)\(backend)")
        var random = SplitMix64(seed: seed)
        let tenant = try fixture.tenant("mixed")
        let app = AssetKey(adamId: "361309726", pricingParam: .standard)
        let book = AssetKey(adamId: "1500000001", pricingParam: .standard)
        let assets = [app, book]
        let tokens = try (0..<3).map { try fixture.token(tenant, uid: "loc-\($0)") }
        var totals: [AssetKey: Int] = [app: 0, book: 0]
        for token in tokens {
            let appTotal = Int(random.next() % 4), bookTotal = Int(random.next() % 3)
            totals[app]! += appTotal
            totals[book]! += bookTotal
            _ = try fixture.ledger.applySnapshot(tenant: tenant.id, token: token, assets: [
                SnapshotAsset(asset: app, total: appTotal, appleAssigned: 0),
                SnapshotAsset(asset: book, productType: "Book", deviceAssignable: false, total: bookTotal, appleAssigned: 0),
            ])
        }
        let serials = try fixture.devices(tenant, prefix: "MIX", count: 8)
        let people = (0..<8).map { "person\($0)" }
        _ = try fixture.ledger.importUsers(tenant: tenant.id, csv: Array(("user_id\n" + people.joined(separator: "\n")).utf8))

        // The model.
        var devicesHolding = Set<String>()       // "asset serial"
        var usersHolding = Set<String>()         // "asset user"
        var retired = Set<String>()
        func held(_ asset: AssetKey) -> Int {
            devicesHolding.count { $0.hasPrefix("\(asset) ") } + usersHolding.count { $0.hasPrefix("\(asset) ") }
        }
        let workflows = Workflows(fixture.ledger)

        for step in 0..<Self.steps(backend) {
            let asset = assets[Int(random.next() % 2)]
            let label: String
            switch random.next() % 6 {
            case 0, 1:
                let chosen = (0..<Int(1 + random.next() % 4)).map { _ in serials[Int(random.next() % UInt64(serials.count))] }
                label = "assign devices \(chosen) \(asset)"
                let outcome = try workflows.runBatch(tenant: tenant, direction: .assign, items: chosen.map { BatchItem(asset: asset, serial: $0) })
                var free = totals[asset]! - held(asset)
                for (serial, item) in zip(chosen, outcome.items) {
                    let expected: ItemResult
                    if asset == book { expected = .notDeviceAssignable }
                    else if devicesHolding.contains("\(asset) \(serial)") { expected = .alreadyAssigned }
                    else if free > 0 { expected = .assigned; free -= 1; devicesHolding.insert("\(asset) \(serial)") }
                    else { expected = .noLicense }
                    #expect(item.result == expected, "seed \(seed), step \(step) (\(label)): \(serial)")
                }
            case 2, 3:
                let chosen = (0..<Int(1 + random.next() % 4)).map { _ in people[Int(random.next() % UInt64(people.count))] }
                label = "assign users \(chosen) \(asset)"
                let outcome = try workflows.runUserBatch(tenant: tenant, direction: .assign, items: chosen.map { UserItem(asset: asset, userId: $0) })
                var free = totals[asset]! - held(asset)
                for (user, item) in zip(chosen, outcome.items) {
                    let expected: ItemResult
                    if retired.contains(user) { expected = .unknownUser }
                    else if usersHolding.contains("\(asset) \(user)") { expected = .alreadyAssigned }
                    else if free > 0 { expected = .assigned; free -= 1; usersHolding.insert("\(asset) \(user)") }
                    else { expected = .noLicense }
                    #expect(item.result == expected, "seed \(seed), step \(step) (\(label)): \(user)")
                }
            case 4:
                if random.next() % 2 == 0 {
                    let serial = serials[Int(random.next() % UInt64(serials.count))]
                    label = "revoke device \(serial) \(asset)"
                    let outcome = try workflows.runBatch(tenant: tenant, direction: .revoke, items: [BatchItem(asset: asset, serial: serial)])
                    let was = devicesHolding.remove("\(asset) \(serial)") != nil
                    #expect(outcome.items.map(\.result) == [was ? .revoked : .notAssigned], "seed \(seed), step \(step) (\(label))")
                } else {
                    let user = people[Int(random.next() % UInt64(people.count))]
                    label = "revoke user \(user) \(asset)"
                    let outcome = try workflows.runUserBatch(tenant: tenant, direction: .revoke, items: [UserItem(asset: asset, userId: user)])
                    let was = usersHolding.remove("\(asset) \(user)") != nil
                    let expected: ItemResult = retired.contains(user) ? .unknownUser : was ? .revoked : .notAssigned
                    #expect(outcome.items.map(\.result) == [expected], "seed \(seed), step \(step) (\(label))")
                }
            default:
                let user = people[Int(random.next() % UInt64(people.count))]
                if retired.contains(user) {
                    label = "import \(user) again"
                    _ = try fixture.ledger.importUsers(tenant: tenant.id, csv: Array("user_id\n\(user)\n".utf8))
                    retired.remove(user)
                } else {
                    label = "retire \(user)"
                    let report = try fixture.ledger.retireUsers(tenant: tenant.id, userIds: [user])
                    let lost = usersHolding.filter { $0.hasSuffix(" \(user)") }
                    #expect(report.revoked == lost.count, "seed \(seed), step \(step) (\(label))")
                    usersHolding.subtract(lost)
                    retired.insert(user)
                }
            }
            // The ledger equals the model, and the pool never goes above its total.
            let ledgerUsers = Set(try fixture.ledger.database.query("""
                SELECT s.adam_id, s.pricing_param, u.user_key FROM user_assignments a JOIN assets s ON s.id = a.asset_id JOIN users u ON u.id = a.user_id
                """) { "\($0.string(0)):\($0.string(1)) \($0.string(2))" })
            #expect(ledgerUsers == usersHolding, "seed \(seed), step \(step) (\(label))")
            for asset in assets {
                let merged = try fixture.merged(tenant, asset)
                #expect(merged?.assigned == held(asset) && held(asset) <= totals[asset]!, "seed \(seed), step \(step) (\(label)): \(asset)")
            }
            let problems = try ledgerInvariantViolations(fixture.ledger.database, thorough: step % 50 == 49)
            if !problems.isEmpty {
                Issue.record("seed \(seed), step \(step) (\(label)):\n\(problems.prefix(5).joined(separator: "\n"))")
                return
            }
        }
        #expect(!usersHolding.isEmpty || !devicesHolding.isEmpty)
    }
}
