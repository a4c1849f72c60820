import AllotCore
import AllotStore
import Foundation

/// One tenant's part of `allot sync --all`.
public struct TenantSyncReport: Sendable, Hashable {
    public let tenant: String
    public let tokens: [TokenSyncReport]
}

/// What one pass of the reconcile schedule did.
public struct ReconcilePass: Sendable, Hashable {
    /// Tokens synced this pass (claimed by this engine).
    public var synced: [TokenSyncReport] = []
    /// Due syncs another worker claimed first.
    public var claimedElsewhere = 0
}

extension Allot {
    /// Syncs at once, in one pass, a bound on memory and on Apple calls in flight.
    static let reconcileSyncsPerPassMax = 256
    /// Syncs running at once within a pass; each is paced to its token's rate anyway.
    static let reconcileSyncsInFlightMax = 16

    // MARK: The schedule (issue 12, point 1)

    /// One pass of the reconcile schedule: every scheduled token whose sync is due is claimed in
    /// the ledger (one conditional UPDATE moving its due time to its next slot, so two nodes
    /// never both run it) and synced, through the same per-token pacing as delivery, with
    /// `sinceVersionId` when Apple and the ledger last agreed. Drift is repaired when the
    /// tenant's setting says so. Tokens never scheduled get their first slot within one interval.
    public func reconcileDue(interval: SyncInterval) async throws -> ReconcilePass {
        let now = self.now
        try ledger.scheduleNewTokens { ReconcileSchedule.nextDue(token: $0, interval: interval, after: now) }
        var pass = ReconcilePass()
        var claimed: [(TokenRecord, Tenant, repair: Bool)] = []
        let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        for due in try ledger.dueSyncs(limit: Self.reconcileSyncsPerPassMax) where !delivery.stopping {
            let next = ReconcileSchedule.nextDue(token: due.token, interval: interval, after: max(now, due.dueAt))
            guard try ledger.claimSync(due, owner: workerId, nextDue: next) else {
                pass.claimedElsewhere += 1
                continue
            }
            guard let tenant = tenants[due.tenant] else { preconditionFailure("token \(due.token) names a tenant that does not exist") }
            claimed.append((try ledger.requireToken(tenant: tenant.id, String(due.token.rawValue)), tenant,
                            try ledger.reconcileRepairs(tenant: tenant.id)))
        }
        // Bounded parallelism: the syncs interleave on the engine at each Apple call.
        var reports: [TokenSyncReport] = []
        var firstError: (any Error)?
        await withTaskGroup(of: Result<TokenSyncReport, any Error>.self) { group in
            var next = 0
            func start() {
                guard next < claimed.count else { return }
                let (token, tenant, repair) = claimed[next]
                next += 1
                group.addTask {
                    do {
                        return .success(try await self.syncToken(tenant: tenant, token: token, compareAssignments: true, repair: repair))
                    } catch { return .failure(error) }
                }
            }
            for _ in 0..<Self.reconcileSyncsInFlightMax { start() }
            for await result in group {
                switch result {
                case .success(let report): reports.append(report)
                case .failure(let error): if firstError == nil { firstError = error }
                }
                if !delivery.stopping { start() }
            }
        }
        if let firstError { throw firstError }
        pass.synced = reports.sorted { $0.tokenId.rawValue < $1.tokenId.rawValue }
        return pass
    }

    /// When a token's next scheduled sync is due (nil before the schedule first saw it).
    public func nextScheduledSync(token: TokenID) throws -> Int64? { try ledger.nextSyncAt(token: token) }

    /// `allot sync --all`: every tenant's tokens, for cron users.
    public func syncAll(repair: Bool = false) async throws -> [TenantSyncReport] {
        var all: [TenantSyncReport] = []
        for tenant in try ledger.tenants() {
            all.append(TenantSyncReport(tenant: tenant.slug, tokens: try await sync(tenant: tenant.slug, repair: repair)))
        }
        return all
    }

    // MARK: Alerts (issue 12, point 3)

    /// `token_expiring` once per milestone (30, 15, 7, 1 days) and expiry date.
    func noteExpiryMilestone(tenant: Tenant, token: TokenRecord) throws {
        guard token.state == .active else { return }
        let announced = try ledger.announcedExpiryMilestones(token: token.id, expiresAt: token.expiresAt)
        guard let days = ExpiryMilestones.due(expiresAt: token.expiresAt, now: now, announced: announced) else { return }
        try ledger.announceExpiryMilestone(tenant: tenant.id, token: token.id, expiresAt: token.expiresAt, days: days)
    }

    /// `over_allocated` for each pool newly over-allocated, and `licences_low` for each app that
    /// crossed one of the tenant's thresholds.
    func noteAlerts(tenant: Tenant) throws {
        _ = try ledger.noteOverAllocations(tenant: tenant.id)
        try noteLicenceLevels(tenant: tenant)
    }

    /// `licences_low` once per crossing of a threshold, in a write of its own
    /// (`Workflows.noteLicenceLevels`; a batch checks its apps inside its own write).
    func noteLicenceLevels(tenant: Tenant, assets: Set<AssetKey>? = nil) throws {
        try ledger.write(tenant: tenant.id) { try workflows.noteLicenceLevels(tenant: tenant, assets: assets) }
    }

    /// The tenant's `licences_low` thresholds (default 20% and 10% of an app's total).
    public func setLicenceThresholds(tenant slug: String, _ thresholds: LicenceThresholds) throws {
        try ledger.setLicenceThresholds(tenant: try tenant(slug).id, thresholds)
    }

    public func licenceThresholds(tenant slug: String) throws -> LicenceThresholds {
        try ledger.licenceThresholds(tenant: try tenant(slug).id)
    }
}
