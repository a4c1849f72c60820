import AllotCore
import Testing

/// The rule that merges a subscription's seats across a tenant's tokens.
@Suite(.timeLimit(.minutes(5))) struct SubscriptionSeatsMergeTests {
    func row(_ token: Int64, _ adamId: Int64, status: String?, periodEnd: String?, total: Int, assigned: Int, parent: Int64? = nil) -> TokenSubscriptionSeats {
        TokenSubscriptionSeats(tokenId: TokenID(token), locationUid: "\(1000 + token)", adamId: adamId, parentAdamId: parent, status: status,
                               periodEnd: periodEnd, total: SeatCount(renewing: total, expiring: 1), assigned: SeatCount(renewing: assigned, expiring: 0),
                               available: SeatCount(renewing: total - assigned, expiring: 1), readAt: 0)
    }

    @Test func countsAddUpThePeriodEndIsTheEarliestAndActiveWins() {
        let merged = SubscriptionSeats.merge([
            row(2, 500, status: "PAUSED", periodEnd: "2027-03-01", total: 4, assigned: 2, parent: 54321),
            row(1, 500, status: "ACTIVE", periodEnd: "2027-02-15", total: 1, assigned: 1),
            row(3, 500, status: nil, periodEnd: nil, total: 0, assigned: 0),
            row(1, 40, status: "PAUSED", periodEnd: nil, total: 2, assigned: 0),
            row(2, 40, status: "INACTIVE", periodEnd: "2027-01-01", total: 2, assigned: 0),
        ])
        #expect(merged.map(\.adamId) == [40, 500])
        let five = merged[1]
        #expect(five.total == SeatCount(renewing: 5, expiring: 3))
        #expect(five.assigned == SeatCount(renewing: 3, expiring: 0))
        #expect(five.available == SeatCount(renewing: 2, expiring: 3))
        #expect(five.periodEnd == "2027-02-15")
        #expect(five.status == "ACTIVE")
        #expect(five.parentAdamId == 54321)
        #expect(five.locations.map(\.tokenId) == [TokenID(1), TokenID(2), TokenID(3)])
        // No location active: the statuses' first in alphabetical order, as documented.
        #expect(merged[0].status == "INACTIVE")
        #expect(merged[0].periodEnd == "2027-01-01")
        #expect(SubscriptionSeats.merge([]).isEmpty)
    }

    @Test func aCountToldByAppleLeavesTheRestAssignedKeepingTheExpiringShareThatFits() {
        var stored = row(1, 500, status: "ACTIVE", periodEnd: "2027-01-15", total: 10, assigned: 6)
        stored.assigned = SeatCount(renewing: 4, expiring: 2)
        let moved = stored.applyingCount(total: SeatCount(renewing: 8, expiring: 0), available: SeatCount(renewing: 7, expiring: 0), readAt: 99)
        #expect(moved.assigned == SeatCount(renewing: 0, expiring: 1))
        #expect(moved.total.sum == moved.assigned.sum + moved.available.sum)
        #expect(moved.periodEnd == "2027-01-15" && moved.readAt == 99)
        let more = stored.applyingCount(total: SeatCount(renewing: 20, expiring: 0), available: SeatCount(renewing: 10, expiring: 0), readAt: 99)
        #expect(more.assigned == SeatCount(renewing: 8, expiring: 2))
    }

    @Test func seatsLowIsOncePerCrossingOfTheMergedLevel() throws {
        let thresholds = try LicenceThresholds(parsing: "20,10")
        let plenty = [row(1, 500, status: "ACTIVE", periodEnd: nil, total: 19, assigned: 0)]           // 20 of 20 free
        let few = [row(1, 500, status: "ACTIVE", periodEnd: nil, total: 19, assigned: 17)]             // 3 of 20: below 20%
        let fewer = [row(1, 500, status: "ACTIVE", periodEnd: nil, total: 19, assigned: 18)]           // 2 of 20: still below 20% only
        let none = [row(1, 500, status: "ACTIVE", periodEnd: nil, total: 20, assigned: 20), row(2, 500, status: nil, periodEnd: nil, total: 0, assigned: 0)]
        #expect(SubscriptionSeats.lowCrossings(before: plenty, after: few, thresholds: thresholds).map(\.belowPercent) == [20])
        #expect(SubscriptionSeats.lowCrossings(before: few, after: fewer, thresholds: thresholds).isEmpty)
        // Another token's free seats count too: merged, 2 of 22 is below 10%.
        #expect(SubscriptionSeats.lowCrossings(before: fewer, after: none, thresholds: thresholds).map(\.belowPercent) == [10])
        #expect(SubscriptionSeats.lowCrossings(before: few, after: plenty, thresholds: thresholds).isEmpty)
        let first = SubscriptionSeats.lowCrossings(before: [], after: few, thresholds: thresholds).first
        #expect(first?.adamId == 500 && first?.belowPercent == 20 && first?.available == 3 && first?.total == 20)
    }
}
