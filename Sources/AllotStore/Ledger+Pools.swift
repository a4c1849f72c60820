import AllotCore

extension Ledger {
    /// Applies what Apple says a token holds: every asset with its total and Apple's count of
    /// licences in use. New assets join the tenant; `assigned_elsewhere` becomes Apple's count
    /// less what Apple may count of ours (`countsAtApple`: confirmed, and on its way); assets
    /// missing from the snapshot drop to a total of zero. Over-allocation (Apple's total below
    /// what is in use) is reported, not hidden.
    ///
    /// `oursBefore` is `countsAtApple` read before Apple was asked: an operation that finished
    /// while Apple answered was in Apple's count but is in neither the confirmed rows nor the
    /// outbox any more (a disassociate applied meanwhile); the larger of the two readings is
    /// what Apple may have counted of ours.
    public func applySnapshot(tenant: TenantID, token: TokenID, assets: [SnapshotAsset], oursBefore: [AssetKey: Int] = [:]) throws -> SnapshotReport {
        // Totals move under the tenant's writers: a batch deciding from the old total must not commit beside it.
        try write(tenant: tenant) {
            guard try database.queryFirst("SELECT 1 FROM tokens WHERE id = ? AND tenant_id = ?",
                                          [.integer(token.rawValue), .integer(tenant.rawValue)], row: { _ in true }) == true else {
                throw AllotError.notFound("token \(token) is not this tenant's")
            }
            var report = SnapshotReport()
            var seen = Set<AssetID>()
            let oursNow = try countsAtApple(tenant: tenant, token: token)
            let poolsBefore = try poolRows(token: token)
            try database.run("UPDATE pool SET total = 0, assigned_elsewhere = 0 WHERE token_id = ?", [.integer(token.rawValue)])
            for asset in assets {
                precondition(asset.total >= 0 && asset.appleAssigned >= 0, "Apple's counts are never negative")
                let upserted = try database.queryFirst("""
                    INSERT INTO assets (tenant_id, adam_id, pricing_param, product_type, device_assignable) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (tenant_id, adam_id, pricing_param) DO UPDATE SET product_type = excluded.product_type,
                        device_assignable = excluded.device_assignable
                    RETURNING id, (SELECT count(*) FROM pool WHERE pool.asset_id = assets.id) = 0
                    """, [.integer(tenant.rawValue), .text(asset.asset.adamId), .text(asset.asset.pricingParam.rawValue),
                          .text(asset.productType), .integer(asset.deviceAssignable ? 1 : 0)]) { (AssetID($0.int64(0)), $0.bool(1)) }
                guard let (assetId, isNew) = upserted else { preconditionFailure("an upsert with RETURNING returns its row") }
                if isNew && !seen.contains(assetId) { report.assetsAdded += 1 }
                seen.insert(assetId)
                let ours = max(oursNow[asset.asset] ?? 0, oursBefore[asset.asset] ?? 0)
                try database.run("""
                    INSERT INTO pool (token_id, asset_id, total, assigned_elsewhere, revocable) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT (token_id, asset_id) DO UPDATE SET total = ?3, assigned_elsewhere = ?4, revocable = ?5
                    """, [.integer(token.rawValue), .integer(assetId.rawValue), .integer(Int64(asset.total)),
                          .integer(Int64(max(0, asset.appleAssigned - ours))), .integer(asset.revocable ? 1 : 0)])
                if let appleAvailable = asset.appleAvailable,
                   let difference = CountDifference.check(asset: asset.asset, total: asset.total, inUseAtApple: max(asset.appleAssigned, ours),
                                                          appleAvailable: appleAvailable, retired: asset.appleRetired) {
                    report.countDifferences.append(difference)
                }
            }
            report.overAllocated = try overAllocations(tenant: tenant, token: token)
            try database.run("UPDATE tokens SET last_sync_at = ? WHERE id = ?", [.integer(now), .integer(token.rawValue)])
            // Events on change only: a sync that finds Apple as it was records nothing (a schedule
            // syncing every token hourly wrote one per token per hour, and posted each to the
            // webhooks). Over-allocation is the engine's `over_allocated`, once per onset.
            let poolsAfter = try poolRows(token: token)
            if report.assetsAdded > 0 || poolsAfter != poolsBefore {
                try recordEvent(tenant: tenant, kind: .poolSynced, token: token,
                                detail: ["assets": assets.count, "assetsAdded": report.assetsAdded, "overAllocated": report.overAllocated.count])
            }
            if !report.countDifferences.isEmpty {
                try recordEvent(tenant: tenant, kind: .appleCountsDiffer, token: token, detail: report.countDifferences)
            }
            return report
        }
    }

    /// A token's pools as a sync sets them (total, licences elsewhere, revocable), by asset.
    private func poolRows(token: TokenID) throws -> [Int64: [Int64]] {
        var rows: [Int64: [Int64]] = [:]
        for (asset, values) in try database.query("""
            SELECT asset_id, total, assigned_elsewhere, revocable FROM pool WHERE token_id = ?
            """, [.integer(token.rawValue)], row: { ($0.int64(0), [$0.int64(1), $0.int64(2), $0.int64(3)]) }) {
            rows[asset] = values
        }
        return rows
    }

    /// The pools of a token whose licences in use exceed Apple's total.
    public func overAllocations(tenant: TenantID, token: TokenID? = nil) throws -> [OverAllocation] {
        try database.query("""
            SELECT a.adam_id, a.pricing_param, p.token_id, p.total, p.assigned_here, p.assigned_elsewhere
            FROM pool p JOIN assets a ON a.id = p.asset_id
            WHERE a.tenant_id = ?1 AND (p.token_id = ?2 OR ?2 IS NULL) AND p.assigned_here + p.assigned_elsewhere > p.total
            ORDER BY p.token_id, a.adam_id
            """, [.integer(tenant.rawValue), SQLValue(token?.rawValue)]) { row in
            OverAllocation(adamId: row.string(0), pricingParam: row.string(1), tokenId: TokenID(row.int64(2)),
                           total: row.int(3), assignedHere: row.int(4), assignedElsewhere: row.int(5))
        }
    }

    /// The tenant's apps, each once, with counts summed over its usable tokens and a
    /// breakdown per token; with `assets`, only those apps (a batch's, after it committed: the
    /// other apps' pools did not move).
    public func mergedPools(tenant: TenantID, assets: Set<AssetKey>? = nil) throws -> [MergedPool] {
        struct Row {
            let adamId: String, pricingParam: String, productType: String, deviceAssignable: Bool
            let share: MergedPool.TokenShare
        }
        var only = ""
        var values: [SQLValue] = [.integer(tenant.rawValue)]
        if let assets, assets.count <= SQLInList.valuesMax {
            let ids = try resolveAssets(tenant: tenant, assets).values.map { SQLValue.integer($0.id.rawValue) }
            guard !ids.isEmpty else { return [] }
            only = "AND a.id IN (\(SQLInList.placeholders(count: ids.count, first: 2)))"
            values += SQLInList.padded(ids)
        }
        let now = self.now
        let rows = try database.query("""
            SELECT a.adam_id, a.pricing_param, a.product_type, a.device_assignable,
                   t.id, t.location_uid, p.total, p.assigned_here, p.assigned_elsewhere, t.state, t.expires_at
            FROM pool p JOIN assets a ON a.id = p.asset_id JOIN tokens t ON t.id = p.token_id
            WHERE a.tenant_id = ?1 \(only) ORDER BY length(a.adam_id), a.adam_id, a.pricing_param, t.id
            """, values) { row -> Row in
            let total = row.int(6), here = row.int(7), elsewhere = row.int(8)
            let usable = try Self.storedTokenState(row.string(9)).isUsable(expiresAt: row.int64(10), now: now)
            return Row(adamId: row.string(0), pricingParam: row.string(1), productType: row.string(2), deviceAssignable: row.bool(3),
                       share: .init(id: TokenID(row.int64(4)), locationUid: row.string(5), total: total, assigned: here + elsewhere,
                                    assignedHere: here, available: max(0, total - here - elsewhere), usable: usable,
                                    unlimited: total >= PoolLimits.unlimitedTotal))
        }
        var pools: [MergedPool] = []
        var start = rows.startIndex
        while start < rows.endIndex {
            let first = rows[start]
            let end = rows[start...].firstIndex { $0.adamId != first.adamId || $0.pricingParam != first.pricingParam } ?? rows.endIndex
            let shares = rows[start..<end].map(\.share)
            let usable = shares.filter(\.usable)
            pools.append(MergedPool(
                adamId: first.adamId, pricingParam: first.pricingParam, productType: first.productType,
                deviceAssignable: first.deviceAssignable,
                total: usable.reduce(0) { $0 + $1.total },
                assigned: usable.reduce(0) { $0 + $1.assigned },
                available: usable.reduce(0) { $0 + $1.available },
                overAllocated: shares.reduce(0) { $0 + max(0, $1.assigned - $1.total) },
                assignedOnUnusableTokens: shares.filter { !$0.usable }.reduce(0) { $0 + $1.assignedHere },
                unlimited: usable.contains(where: \.unlimited),
                tokens: shares))
            start = end
        }
        return pools
    }
}
