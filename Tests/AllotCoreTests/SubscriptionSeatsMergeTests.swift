import AllotCore
import Testing

/// The rule that merges a subscription's seats across a tenant's tokens.
@Suite(.timeLimit(.minutes(1))) struct SubscriptionSeatsMergeTests {
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
}
