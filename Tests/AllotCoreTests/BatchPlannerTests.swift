import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct BatchPlannerTests {
    let app = AssetKey(adamId: "361309726")
    let book = AssetKey(adamId: "999", pricingParam: .standard)

    func ledger(devices count: Int) -> InMemoryAssignmentLedger {
        var devices: [SerialNumber: DeviceRef] = [:]
        for index in 0..<count {
            devices[SerialNumber("DEV\(String(index).leftPadded(to: 6))")!] = DeviceRef(id: DeviceID(Int64(index + 1)), retired: false)
        }
        return InMemoryAssignmentLedger(devices: devices)
    }

    func serial(_ index: Int) -> String { "DEV\(String(index).leftPadded(to: 6))" }

    func planner(_ direction: BatchDirection = .assign, free: [Int]) -> BatchPlanner {
        let candidates = free.enumerated().map { PoolCandidate(tokenId: TokenID(Int64($0.offset + 1)), available: $0.element, expiresAt: 10, priority: 0) }
        return BatchPlanner(direction: direction, policy: .mostAvailable,
                            assets: [app: AssetRef(id: AssetID(1), deviceAssignable: true), book: AssetRef(id: AssetID(2), deviceAssignable: false)],
                            candidates: [AssetID(1): candidates])
    }

    @Test func theEleventhDeviceOnATenLicencePoolGetsNoLicense() throws {
        var memory = ledger(devices: 11)
        var planner = planner(free: [10])
        let plan = try planner.plan((0..<11).map { BatchItem(asset: app, serial: serial($0)) }, ledger: &memory)
        #expect(plan.outcomes.prefix(10).allSatisfy { $0.result == .assigned })
        #expect(plan.outcomes[10].result == .noLicense)
        #expect(plan.poolDeltas == [PoolKey(tokenId: TokenID(1), assetId: AssetID(1)): 10])
    }

    @Test func licencesComeFromEitherTokenOfTheMergedPool() throws {
        var memory = ledger(devices: 6)
        var planner = planner(free: [3, 3])
        let plan = try planner.plan((0..<6).map { BatchItem(asset: app, serial: serial($0)) }, ledger: &memory)
        #expect(plan.outcomes.allSatisfy { $0.result == .assigned })
        #expect(plan.poolDeltas[PoolKey(tokenId: TokenID(1), assetId: AssetID(1))] == 3)
        #expect(plan.poolDeltas[PoolKey(tokenId: TokenID(2), assetId: AssetID(1))] == 3)
    }

    @Test func aPairRepeatedInOneBatchSpendsOneLicence() throws {
        var memory = ledger(devices: 1)
        var planner = planner(free: [5])
        let plan = try planner.plan([BatchItem(asset: app, serial: serial(0)), BatchItem(asset: app, serial: " \(serial(0).lowercased())")], ledger: &memory)
        #expect(plan.outcomes.map(\.result) == [.assigned, .alreadyAssigned])
        #expect(plan.changedCount == 1)
    }

    @Test func alreadyAssignedWinsOverNoLicense() throws {
        var memory = ledger(devices: 2)
        var first = planner(free: [1])
        _ = try first.plan([BatchItem(asset: app, serial: serial(0))], ledger: &memory)
        var second = planner(free: [0])
        let plan = try second.plan([BatchItem(asset: app, serial: serial(0)), BatchItem(asset: app, serial: serial(1))], ledger: &memory)
        #expect(plan.outcomes.map(\.result) == [.alreadyAssigned, .noLicense])
    }

    @Test func theLadderOfPrecedenceIsFixed() throws {
        var memory = ledger(devices: 1)
        memory.devices[SerialNumber("RETIRED0001")!] = DeviceRef(id: DeviceID(99), retired: true)
        var planner = planner(free: [5])
        let plan = try planner.plan([
            BatchItem(asset: AssetKey(adamId: "1"), serial: "bad serial!"),
            BatchItem(asset: AssetKey(adamId: "1"), serial: serial(0)),
            BatchItem(asset: book, serial: "UNKNOWN0001"),
            BatchItem(asset: app, serial: "UNKNOWN0001"),
            BatchItem(asset: app, serial: "RETIRED0001"),
        ], ledger: &memory)
        #expect(plan.outcomes.map(\.result) == [.invalidSerial, .unknownApp, .notDeviceAssignable, .unknownDevice, .unknownDevice])
        #expect(plan.outcomes.allSatisfy { $0.reason != nil })
        #expect(plan.changedCount == 0)
    }

    @Test func revokeReturnsTheLicenceToTheTokenItCameFrom() throws {
        var memory = ledger(devices: 2)
        var assign = planner(free: [1, 1])
        _ = try assign.plan([BatchItem(asset: app, serial: serial(0)), BatchItem(asset: app, serial: serial(1))], ledger: &memory)
        var revoke = planner(.revoke, free: [])
        let plan = try revoke.plan([BatchItem(asset: app, serial: serial(1)), BatchItem(asset: app, serial: serial(1))], ledger: &memory)
        #expect(plan.outcomes.map(\.result) == [.revoked, .notAssigned])
        #expect(plan.outcomes[0].tokenId == TokenID(2))
        #expect(plan.poolDeltas == [PoolKey(tokenId: TokenID(2), assetId: AssetID(1)): -1])
    }
}

extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
