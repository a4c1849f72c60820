import AllotCore
import AllotStore

extension Allot {
    /// Refuses a batch whose every app is one no token of the tenant has (`UnknownAppRule`),
    /// before the ledger is asked to run it: nothing is written, not even the batch row.
    func refuseUnknownApps(tenant: Tenant, _ apps: Set<AssetKey>, direction: BatchDirection) throws {
        // The apps some token of the tenant has had: a row in `assets`, which a sync writes the
        // first time a token lists the app and never deletes.
        let known = Set(try ledger.resolveAssets(tenant: tenant.id, apps).keys)
        guard UnknownAppRule.refusal(requested: apps, known: known, direction: direction) != nil else { return }
        // Refused: the tenant's apps, read now for the suggestion of the nearest one.
        let existing = try ledger.mergedPools(tenant: tenant.id).compactMap { AssetKey(parsing: "\($0.adamId):\($0.pricingParam)") }
        if let refusal = UnknownAppRule.refusal(requested: apps, known: known, direction: direction, existing: existing) { throw refusal }
    }
}
