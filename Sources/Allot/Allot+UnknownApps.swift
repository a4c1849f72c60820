import AllotCore
import AllotStore

extension Allot {
    /// Refuses a batch whose every app is one no token of the tenant has (`UnknownAppRule`),
    /// before the ledger is asked to run it: nothing is written, not even the batch row.
    func refuseUnknownApps(tenant: Tenant, _ apps: Set<AssetKey>, direction: BatchDirection) throws {
        let known = try ledger.knownApps(tenant: tenant.id, among: apps)
        if let refusal = UnknownAppRule.refusal(requested: apps, known: known, direction: direction) { throw refusal }
    }
}
