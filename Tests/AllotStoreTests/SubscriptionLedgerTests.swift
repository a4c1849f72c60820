import AllotCore
import AllotStore
import Foundation
import Testing

/// Subscription seats in the ledger: a token's opt-in, Apple's list replacing a token's rows
/// whole, and the rows read per tenant (a removed token's left out). On SQLite and PostgreSQL.
@Suite(.timeLimit(.minutes(3))) struct SubscriptionLedgerTests {
    func seats(_ token: TokenID, _ uid: String, adamId: Int64, renewing: Int, assigned: Int = 0, periodEnd: String?) -> TokenSubscriptionSeats {
        TokenSubscriptionSeats(tokenId: token, locationUid: uid, adamId: adamId, parentAdamId: nil, status: "ACTIVE", periodEnd: periodEnd,
                               total: SeatCount(renewing: renewing, expiring: 0), assigned: SeatCount(renewing: assigned, expiring: 0),
                               available: SeatCount(renewing: renewing - assigned, expiring: 0), readAt: 1_800_000_000)
    }

    @Test(arguments: TestBackend.all)
    func aTokensSeatsAreReplacedWholeAndReadPerTenant(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, "subscriptionseats\(backend)")
        let tenant = try fixture.tenant("school")
        let other = try fixture.tenant("other")
        let main = try fixture.token(tenant, uid: "1001")
        let north = try fixture.token(tenant, uid: "1002")
        let elsewhere = try fixture.token(other, uid: "2001")
        #expect(try fixture.ledger.subscriptionManagement(token: main) == false)
        try fixture.ledger.setSubscriptionManagement(tenant: tenant.id, token: main, enabled: true)
        try fixture.ledger.setSubscriptionManagement(tenant: tenant.id, token: north, enabled: true)
        try fixture.ledger.setSubscriptionManagement(tenant: tenant.id, token: north, enabled: false)
        #expect(try fixture.ledger.subscriptionManagement(token: main))
        #expect(try !fixture.ledger.subscriptionManagement(token: north))

        try fixture.ledger.replaceSubscriptionSeats(tenant: tenant.id, token: main, [
            seats(main, "1001", adamId: 12345, renewing: 3, assigned: 1, periodEnd: "2027-01-15"),
            seats(main, "1001", adamId: 777, renewing: 1, periodEnd: nil),
        ])
        try fixture.ledger.replaceSubscriptionSeats(tenant: tenant.id, token: north, [seats(north, "1002", adamId: 12345, renewing: 2, periodEnd: "2027-02-01")])
        try fixture.ledger.replaceSubscriptionSeats(tenant: other.id, token: elsewhere, [seats(elsewhere, "2001", adamId: 12345, renewing: 9, periodEnd: nil)])
        let read = try fixture.ledger.subscriptionSeats(tenant: tenant.id)
        #expect(read.map { "\($0.adamId) \($0.tokenId)" } == ["777 \(main)", "12345 \(main)", "12345 \(north)"])
        #expect(read.contains(seats(main, "1001", adamId: 12345, renewing: 3, assigned: 1, periodEnd: "2027-01-15")))

        // Apple's next list is the whole truth of the token: what it no longer lists goes.
        try fixture.ledger.replaceSubscriptionSeats(tenant: tenant.id, token: main, [seats(main, "1001", adamId: 12345, renewing: 4, periodEnd: "2027-01-15")])
        let merged = SubscriptionSeats.merge(try fixture.ledger.subscriptionSeats(tenant: tenant.id))
        #expect(merged.map(\.adamId) == [12345])
        #expect(merged.first?.total == SeatCount(renewing: 6, expiring: 0))
        #expect(merged.first?.periodEnd == "2027-01-15")
        #expect(try fixture.ledger.subscriptionSeats(tenant: other.id).map(\.total.renewing) == [9])
    }
}
