import AllotCore

/// A token whose scheduled sync is due, as read before it is claimed.
public struct DueSync: Sendable, Hashable {
    public let token: TokenID
    public let tenant: TenantID
    /// The time the row holds; the claim succeeds only if it still holds it.
    public let dueAt: Int64
}

extension Ledger {
    // MARK: The reconcile schedule (issue 12, point 1)

    /// Gives every scheduled token without a row its first due time, from `firstDue`.
    public func scheduleNewTokens(firstDue: (TokenID) -> Int64) throws {
        let missing = try database.query("""
            SELECT t.id FROM tokens t WHERE t.state IN \(TokenState.scheduledSQL)
            AND NOT EXISTS (SELECT 1 FROM token_schedule s WHERE s.token_id = t.id) ORDER BY t.id
            """) { TokenID($0.int64(0)) }
        guard !missing.isEmpty else { return }
        try database.transaction {
            for token in missing {
                try database.run("INSERT INTO token_schedule (token_id, next_sync_at) VALUES (?, ?) ON CONFLICT (token_id) DO NOTHING",
                                 [.integer(token.rawValue), .integer(firstDue(token))])
            }
        }
    }

    /// Scheduled tokens whose sync is due at `now`, the longest waiting first, at most `limit`.
    public func dueSyncs(limit: Int) throws -> [DueSync] {
        precondition(limit > 0, "a read of due syncs reads some")
        return try database.query("""
            SELECT s.token_id, t.tenant_id, s.next_sync_at FROM token_schedule s JOIN tokens t ON t.id = s.token_id
            WHERE s.next_sync_at <= ?1 AND t.state IN \(TokenState.scheduledSQL) ORDER BY s.next_sync_at, s.token_id LIMIT ?2
            """, [.integer(now), .integer(Int64(limit))]) { DueSync(token: TokenID($0.int64(0)), tenant: TenantID($0.int64(1)), dueAt: $0.int64(2)) }
    }

    /// Claims a due sync for `owner` by moving its due time to `nextDue`: one conditional UPDATE
    /// on the time read, so of two nodes (or two processes) exactly one wins it.
    public func claimSync(_ due: DueSync, owner: String, nextDue: Int64) throws -> Bool {
        precondition(nextDue > due.dueAt, "a claimed sync is next due later")
        return try database.run("""
            UPDATE token_schedule SET next_sync_at = ?1, claimed_by = ?2, claimed_at = ?3 WHERE token_id = ?4 AND next_sync_at = ?5
            """, [.integer(nextDue), .text(owner), .integer(now), .integer(due.token.rawValue), .integer(due.dueAt)]) == 1
    }

    /// When a token's next scheduled sync is due, if it has one.
    public func nextSyncAt(token: TokenID) throws -> Int64? {
        try database.queryFirst("SELECT next_sync_at FROM token_schedule WHERE token_id = ?", [.integer(token.rawValue)]) { $0.int64(0) }
    }

    // MARK: Alerts (issue 12, point 3)

    /// The expiry milestones announced for a token's current expiry date.
    public func announcedExpiryMilestones(token: TokenID, expiresAt: Int64) throws -> Set<Int> {
        Set(try database.query("SELECT days FROM expiry_alerts WHERE token_id = ? AND expires_at = ?",
                               [.integer(token.rawValue), .integer(expiresAt)]) { $0.int(0) })
    }

    /// Records a `token_expiring` milestone once: false (and no event) when it was already.
    @discardableResult
    public func announceExpiryMilestone(tenant: TenantID, token: TokenID, expiresAt: Int64, days: Int) throws -> Bool {
        try database.transaction {
            let inserted = try database.run("""
                INSERT INTO expiry_alerts (token_id, expires_at, days) VALUES (?, ?, ?) ON CONFLICT (token_id, expires_at, days) DO NOTHING
                """, [.integer(token.rawValue), .integer(expiresAt), .integer(Int64(days))])
            guard inserted == 1 else { return false }
            try recordEvent(tenant: tenant, kind: .tokenExpiring, token: token,
                            detail: ExpiringDetail(daysLeft: days, expiresAt: expiresAt))
            return true
        }
    }

    /// Records `over_allocated` for each of the tenant's pools that became over-allocated since
    /// the last look, and forgets those that recovered. The over-allocations that are new.
    public func noteOverAllocations(tenant: TenantID) throws -> [OverAllocation] {
        try database.transaction {
            let current = try database.query("""
                SELECT p.token_id, p.asset_id, a.adam_id, a.pricing_param, p.total, p.assigned_here, p.assigned_elsewhere
                FROM pool p JOIN assets a ON a.id = p.asset_id
                WHERE a.tenant_id = ?1 AND p.assigned_here + p.assigned_elsewhere > p.total
                """, [.integer(tenant.rawValue)]) { row in
                (pool: PoolKey(tokenId: TokenID(row.int64(0)), assetId: AssetID(row.int64(1))),
                 over: OverAllocation(adamId: row.string(2), pricingParam: row.string(3), tokenId: TokenID(row.int64(0)),
                                      total: row.int(4), assignedHere: row.int(5), assignedElsewhere: row.int(6)))
            }
            let known = Set(try database.query("""
                SELECT o.token_id, o.asset_id FROM over_allocation_alerts o JOIN assets a ON a.id = o.asset_id WHERE a.tenant_id = ?
                """, [.integer(tenant.rawValue)]) { PoolKey(tokenId: TokenID($0.int64(0)), assetId: AssetID($0.int64(1))) })
            var fresh: [OverAllocation] = []
            for (pool, over) in current where !known.contains(pool) {
                try database.run("INSERT INTO over_allocation_alerts (token_id, asset_id, since) VALUES (?, ?, ?)",
                                 [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue), .integer(now)])
                try recordEvent(tenant: tenant, kind: .overAllocated, token: pool.tokenId, detail: over)
                fresh.append(over)
            }
            let overNow = Set(current.map(\.pool))
            for pool in known where !overNow.contains(pool) {
                try database.run("DELETE FROM over_allocation_alerts WHERE token_id = ? AND asset_id = ?",
                                 [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue)])
            }
            return fresh
        }
    }

    /// The threshold each of the tenant's apps is below now, as last recorded.
    public func licenceAlertLevels(tenant: TenantID) throws -> [AssetKey: Int] {
        var levels: [AssetKey: Int] = [:]
        for (key, level) in try database.query("""
            SELECT a.adam_id, a.pricing_param, l.low_percent FROM licence_alerts l JOIN assets a ON a.id = l.asset_id WHERE l.tenant_id = ?
            """, [.integer(tenant.rawValue)], row: { (try Self.storedAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)), $0.int(2)) }) {
            levels[key] = level
        }
        return levels
    }

    /// Records the threshold an app is below now (nil: above them all), and the `licences_low`
    /// event when `crossed` says it went lower. Inside the caller's write.
    public func setLicenceAlertLevel(tenant: TenantID, asset: AssetKey, level: Int?, crossed: LicencesLowDetail?) throws {
        guard let assetId = try database.queryFirst("SELECT id FROM assets WHERE tenant_id = ? AND adam_id = ? AND pricing_param = ?",
                                                    [.integer(tenant.rawValue), .text(asset.adamId), .text(asset.pricingParam.rawValue)],
                                                    row: { $0.int64(0) }) else { return }
        if let level {
            try database.run("""
                INSERT INTO licence_alerts (tenant_id, asset_id, low_percent) VALUES (?1, ?2, ?3)
                ON CONFLICT (tenant_id, asset_id) DO UPDATE SET low_percent = ?3
                """, [.integer(tenant.rawValue), .integer(assetId), .integer(Int64(level))])
        } else {
            try database.run("DELETE FROM licence_alerts WHERE tenant_id = ? AND asset_id = ?", [.integer(tenant.rawValue), .integer(assetId)])
        }
        if let crossed { try recordEvent(tenant: tenant, kind: .licencesLow, detail: crossed) }
    }

    public func licenceThresholds(tenant: TenantID) throws -> LicenceThresholds {
        guard let text = try database.queryFirst("SELECT licence_thresholds FROM tenants WHERE id = ?", [.integer(tenant.rawValue)],
                                                 row: { $0.string(0) }) else {
            throw AllotError.notFound("tenant \(tenant) does not exist")
        }
        do { return try LicenceThresholds(parsing: text) } catch { throw StoredValueError(column: "tenants.licence_thresholds", value: text) }
    }

    public func setLicenceThresholds(tenant: TenantID, _ thresholds: LicenceThresholds) throws {
        try database.transaction {
            try database.run("UPDATE tenants SET licence_thresholds = ? WHERE id = ?", [.text(thresholds.description), .integer(tenant.rawValue)])
            try recordEvent(tenant: tenant, kind: .reconcileSettingChanged, detail: ["licenceThresholds": thresholds.description])
        }
    }
}

/// The detail of a `token_expiring` event.
public struct ExpiringDetail: Sendable, Hashable, Codable {
    public let daysLeft: Int
    public let expiresAt: Int64
}

/// The detail of a `licences_low` event.
public struct LicencesLowDetail: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    /// The threshold crossed, a percent of the total.
    public let belowPercent: Int
    public let available: Int
    public let total: Int
    public init(adamId: String, pricingParam: String, belowPercent: Int, available: Int, total: Int) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.belowPercent = belowPercent
        self.available = available
        self.total = total
    }
}
