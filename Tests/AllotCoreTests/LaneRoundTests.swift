import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct LaneRoundTests {
    static let pages = AssetKey(adamId: "361309726")
    static let now: Int64 = 1_000

    func candidate(_ id: Int64, _ kind: OutboxKind = .associate, _ serials: String..., state: OutboxState = .pending,
                   dueAt: Int64 = 0, leasedUntil: Int64? = nil) -> LaneRound.Candidate {
        LaneRound.Candidate(footprint: DeliveryOrder.Footprint(id: id, order: id, kind: kind, asset: Self.pages, serials: serials),
                            state: state, nextAttemptAt: dueAt, leaseExpiresAt: leasedUntil)
    }

    @Test func aRoundTakesEveryReadyAndFreeOperationInCommitOrder() {
        let window = [candidate(1, .associate, "A"), candidate(2, .associate, "B"), candidate(3, .disassociate, "C", state: .sent)]
        #expect(LaneRound.take(window, now: Self.now) == [1, 2, 3])
    }

    @Test func anOperationHeldBackByAnEarlierOneOnTheSameSerialWaits() {
        // 1 waits for its poll (not due), and still holds back the disassociate of A behind it.
        let window = [candidate(1, .associate, "A", state: .sent, dueAt: Self.now + 30), candidate(2, .disassociate, "A"),
                      candidate(3, .associate, "B")]
        #expect(LaneRound.take(window, now: Self.now) == [3])
    }

    @Test func operationsNotDueOrUnderALiveLeaseWaitAndExpiredLeasesDoNot() {
        let window = [candidate(1, .associate, "A", dueAt: Self.now + 1), candidate(2, .associate, "B", leasedUntil: Self.now + 60),
                      candidate(3, .associate, "C", leasedUntil: Self.now - 1), candidate(4, .associate, "D", state: .paused)]
        #expect(LaneRound.take(window, now: Self.now) == [3])
    }

    @Test func aRoundTakesAtMostItsBoundOldestFirst() {
        let window = (1...100).map { candidate(Int64($0), .associate, "S\($0)") }
        #expect(LaneRound.take(window, now: Self.now, operationsMax: 7) == Array(1...7))
        #expect(LaneRound.take(window, now: Self.now).count == LaneRound.operationsMax)
    }

    @Test func aWindowWithNothingReadyTakesNothing() {
        #expect(LaneRound.take([], now: Self.now).isEmpty)
        #expect(LaneRound.take([candidate(1, .associate, "A", state: .sent, dueAt: Self.now + 30)], now: Self.now).isEmpty)
    }
}
