import AllotCore

// Subscription seats as Apple last counted them, per token (schema/011_subscriptions.sql). The
// ledger keeps rows; what they mean (merged per subscription, events) is decided elsewhere.
extension Ledger {
    /// Keeps a token's opt-in to subscriptions as Apple answered it.
    public func setSubscriptionManagement(tenant: TenantID, token: TokenID, enabled: Bool) throws {
        try database.run("""
            INSERT INTO token_subscriptions (tenant_id, token_id, enabled, changed_at) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (token_id) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at
            """, [.integer(tenant.rawValue), .integer(token.rawValue), .integer(enabled ? 1 : 0), .integer(now)])
    }

    /// Whether the token's location manages subscriptions (false when never asked).
    public func subscriptionManagement(token: TokenID) throws -> Bool {
        try database.queryFirst("SELECT enabled FROM token_subscriptions WHERE token_id = ?1", [.integer(token.rawValue)]) { $0.bool(0) } ?? false
    }

    /// Replaces what the ledger knows of a token's subscriptions with Apple's full list.
    /// Inside the caller's write.
    public func replaceSubscriptionSeats(tenant: TenantID, token: TokenID, _ seats: [TokenSubscriptionSeats]) throws {
        _ = try database.run("DELETE FROM subscription_seats WHERE token_id = ?1", [.integer(token.rawValue)])
        for seat in seats { try putSubscriptionSeats(tenant: tenant, seat) }
    }

    /// Writes one subscription of one token (a `SUBSCRIPTION_COUNT`). Inside the caller's write.
    public func putSubscriptionSeats(tenant: TenantID, _ seat: TokenSubscriptionSeats) throws {
        _ = try database.run("""
            INSERT INTO subscription_seats (tenant_id, token_id, adam_id, parent_adam_id, status, period_end,
                total_renewing, total_expiring, assigned_renewing, assigned_expiring, available_renewing, available_expiring, read_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            ON CONFLICT (token_id, adam_id) DO UPDATE SET parent_adam_id = excluded.parent_adam_id, status = excluded.status,
                period_end = excluded.period_end, total_renewing = excluded.total_renewing, total_expiring = excluded.total_expiring,
                assigned_renewing = excluded.assigned_renewing, assigned_expiring = excluded.assigned_expiring,
                available_renewing = excluded.available_renewing, available_expiring = excluded.available_expiring, read_at = excluded.read_at
            """, [.integer(tenant.rawValue), .integer(seat.tokenId.rawValue), .integer(seat.adamId), SQLValue(seat.parentAdamId),
                  SQLValue(seat.status), SQLValue(seat.periodEnd),
                  .integer(Int64(seat.total.renewing)), .integer(Int64(seat.total.expiring)),
                  .integer(Int64(seat.assigned.renewing)), .integer(Int64(seat.assigned.expiring)),
                  .integer(Int64(seat.available.renewing)), .integer(Int64(seat.available.expiring)), .integer(seat.readAt)])
    }

    /// The subscriptions of a tenant's tokens still in its pool (a removed token's are gone).
    public func subscriptionSeats(tenant: TenantID) throws -> [TokenSubscriptionSeats] {
        try database.query("""
            SELECT s.token_id, t.location_uid, s.adam_id, s.parent_adam_id, s.status, s.period_end, s.total_renewing, s.total_expiring,
                   s.assigned_renewing, s.assigned_expiring, s.available_renewing, s.available_expiring, s.read_at
            FROM subscription_seats s JOIN tokens t ON t.id = s.token_id
            WHERE s.tenant_id = ?1 AND t.state <> 'removed' ORDER BY s.adam_id, s.token_id
            """, [.integer(tenant.rawValue)]) { row in
            TokenSubscriptionSeats(tokenId: TokenID(row.int64(0)), locationUid: row.string(1), adamId: row.int64(2),
                                   parentAdamId: row.optionalInt64(3), status: row.optionalString(4), periodEnd: row.optionalString(5),
                                   total: SeatCount(renewing: row.int(6), expiring: row.int(7)),
                                   assigned: SeatCount(renewing: row.int(8), expiring: row.int(9)),
                                   available: SeatCount(renewing: row.int(10), expiring: row.int(11)), readAt: row.int64(12))
        }
    }
}
