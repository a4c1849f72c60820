import Allot
import AllotCore
import AllotStore
import Foundation
import PostgresTestCluster
import Testing

/// A node of several engines (`NodeEngines`): on PostgreSQL each has its own connection, and a
/// tenant is always served by the same one.
@Suite(.timeLimit(.minutes(10))) struct NodeEnginesTests {
    static let tenants = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    static let licencesPerLocation = 30
    static let devicesPerTenant = 40

    /// One location per tenant, each with 30 licences of one app.
    static var seed: String {
        let locations = tenants.indices.map { index in
            """
            {"uId": "\(6001 + index)", "locationName": "Location \(index)", "orgName": "District \(index)", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
             "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": \(licencesPerLocation), "deviceAssignable": true, "revocable": true}]}
            """
        }
        return "{\"locations\": [\(locations.joined(separator: ","))]}"
    }

    @Test func aTenantIsAlwaysServedByTheSameEngineAndTenantsSpreadOverAll() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        let node = await NodeEngines.node([world.engine, try world.reopened(), try world.reopened(), try world.reopened()])
        #expect(node.primary === world.engine)
        for slug in Self.tenants { #expect(node.serving(tenant: slug) === node.serving(tenant: slug)) }
        let used = Set((1...64).map { ObjectIdentifier(node.serving(tenant: "tenant-\($0)")) })
        #expect(used.count == 4, "64 tenants over 4 engines used \(used.count)")
        let alone = NodeEngines(world.engine)
        #expect(alone.serving(tenant: "alpha") === world.engine)
    }

    /// Two nodes of three engines each on one PostgreSQL database: six tenants' batches sent at
    /// once through both nodes, each tenant's to its engine there. Every tenant gets exactly its
    /// location's licences, no pool goes above its total, and delivery makes Apple hold what
    /// the ledger answered.
    @Test(.enabled(if: PostgresTestServer.server != nil))
    func twoNodesOfSeveralEnginesServeConcurrentTenantsWithinEveryPool() async throws {
        try await EngineBackend.postgres.withWorld("nodeengines", seed: Self.seed) { world in
            for (index, slug) in Self.tenants.enumerated() {
                try await world.tenant(slug, devices: Self.devicesPerTenant)
                _ = try await world.engine.addToken(tenant: slug, fileContents: world.tokenFile(String(6001 + index)))
            }
            let first = await NodeEngines.node([world.engine, try world.reopened(), try world.reopened()])
            let second = await NodeEngines.node([try world.reopened(), try world.reopened(), try world.reopened()])
            // Each tenant's 40 devices in four batches of ten, alternating nodes, all at once.
            let answers = try await withThrowingTaskGroup(of: (String, [String: Int]).self) { group in
                for slug in Self.tenants {
                    for part in 0..<4 {
                        let node = part % 2 == 0 ? first : second
                        let items = world.items(World.sharedApp, (part * 10 + 1)...(part * 10 + 10), prefix: slug)
                        group.addTask { (slug, try await node.serving(tenant: slug).assign(tenant: slug, items).counts) }
                    }
                }
                return try await group.reduce(into: [String: [String: Int]]()) { tally, answer in
                    tally[answer.0, default: [:]].merge(answer.1, uniquingKeysWith: +)
                }
            }
            for slug in Self.tenants {
                #expect(answers[slug]?["assigned"] == Self.licencesPerLocation, "\(slug): \(answers[slug] ?? [:])")
                #expect(answers[slug]?["no_license"] == Self.devicesPerTenant - Self.licencesPerLocation, "\(slug): \(answers[slug] ?? [:])")
                #expect(try await world.ledgerAssignments(slug).count == Self.licencesPerLocation)
            }
            for slug in Self.tenants {
                for share in try await world.engine.apps(tenant: slug).flatMap(\.tokens) {
                    #expect(share.assignedHere <= share.total, "\(slug): \(share)")
                }
            }
            // Delivered by the first node's primary, as `allot serve` does.
            for _ in 0..<20 {
                _ = try await first.primary.push()
                if try await world.engine.outbox(tenant: nil).allSatisfy({ !$0.state.isUnfinished }) { break }
                world.clock.advance(1_000)
            }
            var ledger = Set<String>()
            for slug in Self.tenants { ledger.formUnion(try await world.ledgerAssignments(slug)) }
            #expect(try await world.appleAssignments() == ledger)
        }
    }
}
