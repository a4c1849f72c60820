import Allot
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Issue 10, point 2: sync compares Apple's assignments with the ledger's, reports each
/// difference, and `repair` brings the two back in step.
@Suite(.timeLimit(.minutes(5))) struct DriftTests {
    @Test(arguments: AppleTransport.allCases)
    func driftMadeBehindTheEnginesBackIsReportedAndRepairBringsAppleAndTheLedgerInStep(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 4)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...3))
        _ = try await world.engine.push(tenant: "springfield")
        let agreed = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(agreed.drift.isEmpty)
        #expect(agreed.assignmentsRead == .full)
        let unchanged = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(unchanged.assignmentsRead == .unchanged)

        // An admin in Apple's portal takes serial 2's licence and gives serial 4 one.
        let bearer = try world.tokenFile("1001").trimmingCharacters(in: .whitespacesAndNewlines)
        let app = WireAssetKey(adamId: World.sharedApp.adamId, pricingParam: "STDQ")
        _ = try await world.simulator.disassociate(token: bearer, AssociationRequest(assets: [app], serialNumbers: [World.serial(2).value]))
        _ = try await world.simulator.associate(token: bearer, AssociationRequest(assets: [app], serialNumbers: [World.serial(4).value]))

        let drifted = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(drifted.assignmentsRead == .full)
        #expect(drifted.drift == [
            AssignmentDrift(.missingAtApple, HeldLicence(asset: World.sharedApp, serial: World.serial(2).value)),
            AssignmentDrift(.unknownToLedger, HeldLicence(asset: World.sharedApp, serial: World.serial(4).value)),
        ])
        #expect(drifted.repair == nil)
        #expect(try await world.engine.events(tenant: "springfield", kind: "assignments_drift").count == 1)
        // Unrepaired drift is not forgotten: the next sync reads everything and reports it again.
        let still = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(still.drift.count == 2)

        let repaired = try #require(try await world.engine.sync(tenant: "springfield", repair: true).first)
        #expect(repaired.repair?.resent == 1)
        #expect(repaired.repair?.recorded == 1)
        let pushed = try await world.engine.push(tenant: "springfield")
        #expect(pushed.unfinished == 0)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
        #expect(try await world.ledgerAssignments().count == 4)
        let after = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(after.drift.isEmpty)
        let pool = try #require(try await world.engine.apps(tenant: "springfield").first { $0.adamId == World.sharedApp.adamId })
        #expect(pool.assigned == 4, "\(pool.tokens)")
        #expect(pool.available == 6)
    }

    @Test(arguments: AppleTransport.allCases)
    func repairGivesBackARetiredDevicesLicenceAndLeavesOneHeldThroughAnotherToken(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 6)
        try await world.engine.setPolicy(tenant: "springfield", .priority)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"), priority: 5)
        let north = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1002"), priority: 0)
        let assigned = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 5...6))
        #expect(assigned.items.allSatisfy { $0.tokenId == north.id })
        _ = try await world.engine.retireDevices(tenant: "springfield", serials: [World.serial(5).value])
        _ = try await world.engine.push(tenant: "springfield")

        // An admin grants both devices a licence of Main Campus (1001) behind the engine's back.
        let bearer = try world.tokenFile("1001").trimmingCharacters(in: .whitespacesAndNewlines)
        let app = WireAssetKey(adamId: World.sharedApp.adamId, pricingParam: "STDQ")
        _ = try await world.simulator.associate(token: bearer, AssociationRequest(assets: [app], serialNumbers: [World.serial(5).value, World.serial(6).value]))

        let repaired = try #require(try await world.engine.sync(tenant: "springfield", repair: true).first { $0.locationUid == "1001" })
        #expect(repaired.drift.map(\.kind) == [.unknownToLedger, .unknownToLedger])
        #expect(repaired.repair?.givenBack == 1)
        #expect(repaired.repair?.left == 1)
        #expect(repaired.repair?.recorded == 0)
        _ = try await world.engine.push(tenant: "springfield")
        #expect(try await world.appleAssignments().filter { $0.contains(World.serial(5).value) }.isEmpty)
        // Invariant 2 holds: the device keeps its one licence, through North; the extra one at
        // Main is still reported, for an admin to reclaim.
        let again = try #require(try await world.engine.sync(tenant: "springfield").first { $0.locationUid == "1001" })
        #expect(again.drift == [AssignmentDrift(.unknownToLedger, HeldLicence(asset: World.sharedApp, serial: World.serial(6).value))])
        #expect(try await world.ledgerAssignments() == ["\(World.sharedApp) \(World.serial(6).value) 1002"])
    }

    @Test func licencesStillOnTheirWayToAppleAreNotDrift() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 3)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...3))
        let report = try #require(try await world.engine.sync(tenant: "springfield").first)
        #expect(report.assignmentsRead == .full)
        #expect(report.drift.isEmpty)
    }

    @Test func theReconcileSettingIsOffByDefaultAndDecidesWhetherReconcileRepairs() async throws {
        let world = try await World()
        defer { world.cleanUp() }
        try await world.tenant(devices: 2)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        let bearer = try world.tokenFile("1001").trimmingCharacters(in: .whitespacesAndNewlines)
        let app = WireAssetKey(adamId: World.sharedApp.adamId, pricingParam: "STDQ")
        _ = try await world.simulator.associate(token: bearer, AssociationRequest(assets: [app], serialNumbers: [World.serial(1).value]))
        #expect(try await world.engine.reconcileRepairs(tenant: "springfield") == false)
        let reported = try #require(try await world.engine.reconcile(tenant: "springfield").first)
        #expect(reported.drift.count == 1)
        #expect(reported.repair == nil)
        try await world.engine.setReconcileRepairs(tenant: "springfield", true)
        let repaired = try #require(try await world.engine.reconcile(tenant: "springfield").first)
        #expect(repaired.repair?.recorded == 1)
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }
}
