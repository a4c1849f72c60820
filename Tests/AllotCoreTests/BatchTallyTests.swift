import AllotCore
import Testing

/// The tally of a roll-out keeps memory bounded: every item for a selection within the bound,
/// only the failed ones (up to the bound) beyond it; the counts always cover every item.
@Suite(.timeLimit(.minutes(5))) struct BatchTallyTests {
    static let asset = AssetKey(adamId: "361309726")

    static func outcomes(_ count: Int, failingEvery step: Int) -> [ItemOutcome] {
        (0..<count).map { index in
            ItemOutcome(serialNumber: "SER\(index)", asset: asset, result: index % step == 0 ? .noLicense : .assigned)
        }
    }

    @Test func aSelectionWithinTheBoundListsEveryItem() {
        var tally = BatchTally(total: 30)
        tally.add(Self.outcomes(10, failingEvery: 5))
        tally.add(Self.outcomes(20, failingEvery: 5))
        #expect(tally.items.count == 30)
        #expect(tally.itemsOmitted == 0)
        #expect(tally.counts == ["assigned": 24, "no_license": 6])
        #expect(tally.changed == 24)
        #expect(tally.failed == 6)
    }

    @Test func aLargerSelectionListsOnlyFailuresUpToTheBound() {
        let total = BatchTally.itemsListedMax * 2
        var tally = BatchTally(total: total)
        for _ in 0..<20 { tally.add(Self.outcomes(total / 20, failingEvery: 2)) }
        #expect(tally.decided == total)
        #expect(tally.counts.values.reduce(0, +) == total, "the counts cover every item")
        #expect(tally.items.count == BatchTally.itemsListedMax, "bounded")
        #expect(tally.items.allSatisfy { !$0.result.isSuccess }, "only failures are listed")
        #expect(tally.items.count + tally.itemsOmitted == total)
    }
}
