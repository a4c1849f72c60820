import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct DeliveryOrderTests {
    static let pages = AssetKey(adamId: "361309726")
    static let keynote = AssetKey(adamId: "361285480")

    func op(_ id: Int64, _ kind: OutboxKind, _ asset: AssetKey = pages, _ serials: String...) -> DeliveryOrder.Footprint {
        DeliveryOrder.Footprint(id: id, order: id, kind: kind, asset: asset, serials: serials)
    }

    @Test func aLaterAssignWaitsForAnEarlierRevokeOfTheSameSerial() {
        let free = DeliveryOrder.free([op(1, .disassociate, Self.pages, "A"), op(2, .associate, Self.pages, "A")])
        #expect(free == [1])
    }

    @Test func operationsOnOtherSerialsOrOtherAssetsDoNotWait() {
        let free = DeliveryOrder.free([
            op(1, .disassociate, Self.pages, "A"),
            op(2, .associate, Self.pages, "B"),
            op(3, .associate, Self.keynote, "A"),
        ])
        #expect(free == [1, 2, 3])
    }

    @Test func aBlockedOperationStillHoldsBackTheOnesAfterIt() {
        // 2 waits for 1; 3 shares a serial only with 2, and must wait for 2 in turn.
        let free = DeliveryOrder.free([
            op(1, .disassociate, Self.pages, "A"),
            op(2, .associate, Self.pages, "A", "B"),
            op(3, .disassociate, Self.pages, "B"),
        ])
        #expect(free == [1])
    }

    @Test func appleRevokeCoversEveryAssetOfItsSerials() {
        let free = DeliveryOrder.free([
            op(1, .revoke, Self.pages, "A"),
            op(2, .associate, Self.keynote, "A"),
            op(3, .associate, Self.keynote, "B"),
            op(4, .revoke, Self.pages, "B"),
        ])
        #expect(free == [1, 3])
    }

    @Test func chunksOfOneSplitOperationShareItsOrderAndGoTogether() {
        let chunks = [
            DeliveryOrder.Footprint(id: 7, order: 1, kind: .associate, asset: Self.pages, serials: ["A"]),
            DeliveryOrder.Footprint(id: 8, order: 1, kind: .associate, asset: Self.pages, serials: ["B"]),
            DeliveryOrder.Footprint(id: 3, order: 3, kind: .disassociate, asset: Self.pages, serials: ["A"]),
        ]
        #expect(DeliveryOrder.free(chunks) == [7, 8])
    }

    /// Against the model: an operation is free exactly when no earlier one shares an
    /// (asset, serial), or a serial with an Apple revoke on either side.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func freeMatchesThePairwiseDefinition(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let serials = ["A", "B", "C", "D"]
        let assets = [Self.pages, Self.keynote]
        let kinds: [OutboxKind] = [.associate, .disassociate, .revoke]
        let operations = (1...30).map { id in
            DeliveryOrder.Footprint(id: Int64(id), order: Int64(id), kind: kinds.randomElement(using: &random)!,
                                    asset: assets.randomElement(using: &random)!,
                                    serials: Array(Set((0..<Int.random(in: 1...2, using: &random)).map { _ in serials.randomElement(using: &random)! })))
        }
        func conflict(_ a: DeliveryOrder.Footprint, _ b: DeliveryOrder.Footprint) -> Bool {
            let shared = !Set(a.serials).isDisjoint(with: b.serials)
            return shared && (a.kind == .revoke || b.kind == .revoke || a.asset == b.asset)
        }
        let expected = Set(operations.enumerated().filter { index, operation in
            !operations[..<index].contains { conflict($0, operation) }
        }.map(\.element.id))
        #expect(DeliveryOrder.free(operations) == expected)
    }
}
