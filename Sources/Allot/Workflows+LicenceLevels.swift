import AllotCore
import AllotStore

extension Workflows {
    /// `licences_low` once per crossing of a threshold, and again after a recovery above it,
    /// inside the caller's write. With `assets` (a batch's), only those apps are looked at: the
    /// others' pools did not move.
    func noteLicenceLevels(tenant: Tenant, assets: Set<AssetKey>? = nil) throws {
        let thresholds = try ledger.licenceThresholds(tenant: tenant.id)
        let recorded = try ledger.licenceAlertLevels(tenant: tenant.id)
        for pool in try ledger.mergedPools(tenant: tenant.id, assets: assets) where pool.deviceAssignable {
            let asset = try Ledger.storedAssetKey(adamId: pool.adamId, pricingParam: pool.pricingParam)
            let level = thresholds.level(available: pool.available, total: pool.total, unlimited: pool.unlimited)
            let previous = recorded[asset]
            guard level != previous else { continue }
            let crossed = LicenceThresholds.crossing(from: previous, to: level).map {
                LicencesLowDetail(adamId: pool.adamId, pricingParam: pool.pricingParam, belowPercent: $0,
                                  available: pool.available, total: pool.total)
            }
            try ledger.setLicenceAlertLevel(tenant: tenant.id, asset: asset, level: level, crossed: crossed)
        }
    }
}
