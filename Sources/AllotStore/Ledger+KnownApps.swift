import AllotCore

extension Ledger {
    /// The apps among `keys` that some token of the tenant has had (a row in `assets`, which a
    /// sync writes the first time a token lists the app and never deletes): what
    /// `UnknownAppRule` compares a batch's apps with. One query per distinct app; a batch names
    /// one app, or a handful.
    public func knownApps(tenant: TenantID, among keys: Set<AssetKey>) throws -> Set<AssetKey> {
        var known = Set<AssetKey>()
        for key in keys {
            let found = try database.queryFirst(
                "SELECT 1 FROM assets WHERE tenant_id = ? AND adam_id = ? AND pricing_param = ?",
                [.integer(tenant.rawValue), .text(key.adamId), .text(key.pricingParam.rawValue)],
                row: { _ in true })
            if found == true { known.insert(key) }
        }
        return known
    }
}
