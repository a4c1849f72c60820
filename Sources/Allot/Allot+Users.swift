import AllotCore
import AllotStore
import AppleAppsAndBooks

extension Allot {
    /// Creates (`registerUsers`) or retires (`retireUsers`) users at a token's location.
    func userRecordsCall(_ apple: any AppsAndBooksService, _ operation: OutboxOperation, bearer: String, tenant: Tenant) async throws -> EventResponse {
        throw AppleServiceError(errorNumber: 0, message: "this build cannot yet manage users at Apple", httpStatus: 501)
    }
}

/// Which users a user batch names.
public enum UserSelection: Sendable, Hashable {
    /// Roster ids as typed (each validated as an item).
    case users([String])
    /// Every user under management in this group.
    case group(String)
}

extension Allot {
    // MARK: People

    public func importUsers(tenant slug: String, csv: [UInt8]) throws -> ImportReport {
        try ledger.importUsers(tenant: try tenant(slug).id, csv: csv)
    }

    public func registerUsers(tenant slug: String, _ users: [UserInput]) throws -> ImportReport {
        guard users.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(users.count) users is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        let tenant = try tenant(slug)
        return try ledger.write(tenant: tenant.id) { try ledger.upsertUsers(tenant: tenant.id, users) }
    }

    public func users(tenant slug: String, group: String? = nil) throws -> [UserRecord] {
        try ledger.users(tenant: try tenant(slug).id, group: group)
    }

    public func user(tenant slug: String, userId: String) throws -> (user: UserRecord, locations: [UserLocation], holdings: [UserHolding]) {
        try ledger.user(tenant: try tenant(slug).id, userId: userId)
    }

    /// Retires users: their licences are given back (and serve the queues of unmet demand),
    /// then they are retired at every location they are registered at.
    public func retireUsers(tenant slug: String, userIds: [String]) throws -> UserRetirement {
        let tenant = try tenant(slug)
        let report = try ledger.retireUsers(tenant: tenant.id, userIds: userIds)
        if report.revoked > 0 { try serveQueue(tenant: tenant, asset: nil) }
        return report
    }

    // MARK: User batches

    /// Gives an app's licences to users, from the tenant's merged pools (with `queue`, users
    /// who find none wait in the app's queue).
    public func assignUsers(tenant slug: String, asset: AssetKey, _ selection: UserSelection, mode: BatchMode = .partial,
                            idempotencyKey: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        try userBatch(tenant: slug, direction: .assign, asset: asset, selection, mode: mode, idempotencyKey: idempotencyKey, queue: queue)
    }

    public func revokeUsers(tenant slug: String, asset: AssetKey, _ selection: UserSelection, mode: BatchMode = .partial,
                            idempotencyKey: String? = nil) throws -> UserBatchOutcome {
        try userBatch(tenant: slug, direction: .revoke, asset: asset, selection, mode: mode, idempotencyKey: idempotencyKey, queue: false)
    }

    /// A user batch of explicit items (several apps at once, over HTTP).
    public func userBatch(tenant slug: String, direction: BatchDirection, items: [UserItem], mode: BatchMode = .partial,
                          idempotencyKey: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        let tenant = try tenant(slug)
        try refuseUnknownApps(tenant: tenant, Set(items.map(\.asset)), direction: direction)
        let outcome = try workflows.runUserBatch(tenant: tenant, direction: direction, items: items, mode: mode,
                                                 idempotencyKey: idempotencyKey, queue: queue)
        settings.metrics.batch(direction: outcome.direction, mode: outcome.mode, committed: outcome.committed, counts: outcome.counts)
        return outcome
    }

    private func userBatch(tenant slug: String, direction: BatchDirection, asset: AssetKey, _ selection: UserSelection, mode: BatchMode,
                           idempotencyKey: String?, queue: Bool) throws -> UserBatchOutcome {
        let tenantId = try tenant(slug).id
        let ids: [String]
        switch selection {
        case .users(let given): ids = given
        case .group(let group):
            guard try ledger.userGroupExists(tenant: tenantId, group: group) else {
                throw AllotError.notFound("no user of this tenant is in group '\(group.printableExcerpt)'; check the name (`allot users list`)")
            }
            ids = try ledger.activeUserKeys(tenant: tenantId, group: group)
            guard !ids.isEmpty else {
                throw AllotError.invalidInput("every user of group '\(group.printableExcerpt)' is retired; nothing to \(direction.rawValue)")
            }
        }
        return try userBatch(tenant: slug, direction: direction, items: ids.map { UserItem(asset: asset, userId: $0) }, mode: mode,
                             idempotencyKey: idempotencyKey, queue: queue)
    }
}
