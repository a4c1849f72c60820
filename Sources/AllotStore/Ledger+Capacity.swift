import AllotCore

/// A token's pool of one asset, as delivery's room at Apple reads it (`DeliveryCapacity`).
public struct PoolFigures: Sendable, Hashable {
    public let asset: AssetID
    public let total: Int
    public let elsewhere: Int
    /// Assignment rows drawing on it, confirmed or not (`assigned_here`).
    public let rows: Int
}

extension Ledger {
    /// The token's pools of these assets (those the token has a pool row for).
    public func poolFigures(tenant: TenantID, token: TokenID, assets: Set<AssetKey>) throws -> [AssetKey: PoolFigures] {
        var figures: [AssetKey: PoolFigures] = [:]
        for (key, asset) in try resolveAssets(tenant: tenant, assets) {
            figures[key] = try database.queryFirst("""
                SELECT total, assigned_elsewhere, assigned_here FROM pool WHERE token_id = ? AND asset_id = ?
                """, [.integer(token.rawValue), .integer(asset.id.rawValue)]) {
                PoolFigures(asset: asset.id, total: $0.int(0), elsewhere: $0.int(1), rows: $0.int(2))
            }
        }
        return figures
    }

    /// Assignment rows of a token's pool that Apple confirmed holding.
    public func confirmedAssignments(token: TokenID, asset: AssetID) throws -> Int {
        try database.queryFirst("""
            SELECT (SELECT count(*) FROM assignments WHERE token_id = ?1 AND asset_id = ?2 AND status = 1)
                 + (SELECT count(*) FROM user_assignments WHERE token_id = ?1 AND asset_id = ?2 AND status = 1)
            """, [.integer(token.rawValue), .integer(asset.rawValue)]) { $0.int(0) } ?? 0
    }

    /// What Apple may count on each of a token's assets because of this ledger: the confirmed
    /// assignments plus what unfinished operations may have brought or not yet taken away
    /// (`DeliveryCapacity.onTheirWay`). A sync compares Apple's `assignedCount` with this, so a
    /// sync during delivery never takes licences on their way for licences assigned elsewhere.
    public func countsAtApple(tenant: TenantID, token: TokenID) throws -> [AssetKey: Int] {
        var counts: [AssetKey: Int] = [:]
        for (key, confirmed) in try database.query("""
            SELECT a.adam_id, a.pricing_param, count(*) FROM assignments s JOIN assets a ON a.id = s.asset_id
            WHERE s.tenant_id = ? AND s.token_id = ? AND s.status = 1 GROUP BY a.adam_id, a.pricing_param
            """, [.integer(tenant.rawValue), .integer(token.rawValue)], row: {
                (try Self.storedAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)), $0.int(2))
            }) {
            counts[key] = confirmed
        }
        // A person's licence counts at Apple as a device's does.
        for (key, confirmed) in try confirmedUserAssignments(tenant: tenant, token: token) {
            counts[key, default: 0] += confirmed
        }
        let unfinished = try deliveryWindow(token: token, limit: Int(Int32.max)).map(\.candidate)
        for (key, onTheirWay) in DeliveryCapacity.countsOnTheirWay(LaneRound.unfinished(unfinished, now: now)) {
            counts[key, default: 0] += onTheirWay
        }
        return counts
    }
}
