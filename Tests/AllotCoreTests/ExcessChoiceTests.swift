import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct ExcessChoiceTests {
    func holder(_ device: Int64, batch: Int64, group: String? = nil) -> ExcessHolder {
        ExcessHolder(device: DeviceID(device), serial: "SER\(device)", group: group, batch: BatchID(batch))
    }

    func spare(_ token: Int64, _ available: Int) -> PoolCandidate {
        PoolCandidate(tokenId: TokenID(token), available: available, expiresAt: 0, priority: 0)
    }

    @Test func theNewestGiveBackFirstAndMoveWhileAnotherTokenHasFreeLicences() {
        let holders = [holder(1, batch: 1), holder(2, batch: 1), holder(3, batch: 2), holder(4, batch: 3)]
        let plan = ExcessChoice.choose(excess: 3, holders: holders, keepGroup: nil, spare: [spare(7, 1), spare(8, 1)], policy: .mostAvailable)
        #expect(plan.moves.map(\.holder.device) == [DeviceID(4), DeviceID(3)])
        #expect(Set(plan.moves.map(\.to)) == [TokenID(7), TokenID(8)], "each free licence used once")
        #expect(plan.revokes.map(\.device) == [DeviceID(2)])
        #expect(plan.unresolved == 0)
    }

    @Test func theGroupToKeepGoesLastAndWhatOthersHoldIsUnresolved() {
        let holders = [holder(1, batch: 1, group: "staff"), holder(2, batch: 2, group: "staff"), holder(3, batch: 1)]
        let kept = ExcessChoice.choose(excess: 2, holders: holders, keepGroup: "staff", spare: [], policy: .priority)
        #expect(kept.revokes.map(\.device) == [DeviceID(3), DeviceID(2)])
        let beyond = ExcessChoice.choose(excess: 5, holders: holders, keepGroup: nil, spare: [], policy: .priority)
        #expect(beyond.revokes.count == 3)
        #expect(beyond.unresolved == 2)
        #expect(ExcessChoice.choose(excess: 0, holders: holders, keepGroup: nil, spare: [], policy: .priority) == ExcessPlan())
    }

    @Test func anAllowanceIsACountOrAShareOfTheFleet() throws {
        #expect(RetireAllowance(parsing: "25") == .devices(25))
        #expect(RetireAllowance(parsing: "20%") == .percent(20))
        #expect(RetireAllowance(parsing: "101%") == nil)
        #expect(RetireAllowance(parsing: "-1") == nil)
        #expect(RetireAllowance(parsing: "ten") == nil)
        #expect(RetireAllowance.standard.refusal(retiring: 20, fleet: 200) == nil)
        let refusal = try #require(RetireAllowance.standard.refusal(retiring: 21, fleet: 200))
        #expect(refusal.contains("21 of the tenant's 200 managed devices (11%)"))
        #expect(refusal.contains("allow retiring 21 devices (11%)"))
        #expect(!refusal.contains("--"), "the rule names no command-line option")
        #expect(RetireAllowance.devices(0).refusal(retiring: 0, fleet: 0) == nil)
    }
}
