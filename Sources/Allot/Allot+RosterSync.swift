import AllotCore
import AllotStore

extension Allot {
    /// Imports a roster as the whole fleet: the devices it does not list are retired, within
    /// `allowance` (issue 14 point 2). The licences they give back serve the queues.
    public func syncRoster(tenant slug: String, csv: [UInt8], allowance: RetireAllowance = .standard, dryRun: Bool = false) throws -> RosterSyncReport {
        let tenant = try tenant(slug)
        let report = try ledger.syncRoster(tenant: tenant.id, csv: csv, allowance: allowance, dryRun: dryRun)
        if !dryRun && report.revocation.revoked > 0 { try serveQueue(tenant: tenant, asset: nil) }
        return report
    }
}
