import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct DemandQueueRulesTests {
    static let app = AssetKey(adamId: "361309726")

    @Test func onlyNoLicenceItemsBecomeQueued() {
        let outcomes = [
            ItemOutcome(serialNumber: "AAAA00000001", asset: Self.app, result: .assigned, tokenId: TokenID(1)),
            ItemOutcome(serialNumber: "AAAA00000002", asset: Self.app, result: .noLicense, reason: "none"),
            ItemOutcome(serialNumber: "AAAA00000003", asset: Self.app, result: .unknownDevice, reason: "unknown"),
            ItemOutcome(serialNumber: "AAAA00000004", asset: Self.app, result: .noLicense, reason: "none"),
        ]
        let (queued, positions) = DemandQueue.queueing(outcomes)
        #expect(positions == [1, 3])
        #expect(queued.map(\.result) == [.assigned, .queued, .unknownDevice, .queued])
        #expect(queued[0] == outcomes[0])
        #expect(queued[2] == outcomes[2])
        #expect(!ItemResult.queued.isSuccess, "a waiting device does not hold the app")
    }

    @Test func servingTakesNoMoreThanIsFreeNorThanABatchHolds() {
        #expect(DemandQueue.servingSize(free: 3, waiting: 10) == 3)
        #expect(DemandQueue.servingSize(free: 10, waiting: 4) == 4)
        #expect(DemandQueue.servingSize(free: 0, waiting: 4) == 0)
        #expect(DemandQueue.servingSize(free: Int(Int32.max), waiting: 500_000) == BatchLimits.itemsMax)
    }

    @Test func aDeviceKeepsItsPlaceOnlyWhileStillShortOfALicence() {
        #expect(DemandQueue.leavesQueue(after: .assigned))
        #expect(DemandQueue.leavesQueue(after: .alreadyAssigned))
        #expect(DemandQueue.leavesQueue(after: .unknownDevice))
        #expect(!DemandQueue.leavesQueue(after: .noLicense))
        #expect(!DemandQueue.leavesQueue(after: .notDeviceAssignable))
    }

    @Test func theBoundIsRefusedWithOneSentenceSayingWhatToDo() throws {
        #expect(DemandQueue.refusal(waiting: DemandQueue.entriesPerTenantMax) == nil)
        let refusal = try #require(DemandQueue.refusal(waiting: DemandQueue.entriesPerTenantMax + 1))
        #expect(refusal.contains("take waiting devices out of the queue"))
        #expect(!refusal.contains("allot "), "the rule names no command; the CLI adds it (CLIAdvice)")
        #expect(refusal.contains("\(DemandQueue.entriesPerTenantMax)"))
    }
}
