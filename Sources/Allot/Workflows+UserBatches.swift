import AllotCore
import AllotStore

extension Workflows {
    /// Runs an assign or revoke batch of user licences for one tenant, exactly as a device batch
    /// runs (`runBatch`): every item decided in order against the same merged pools, the
    /// successful ones committed in one write with their pool counters, the operations for Apple
    /// (the users' registration at a location first, then their associations) and one event.
    /// All-or-nothing, dry-run, idempotency keys and the queue of unmet demand behave as theirs.
    public func runUserBatch(tenant: Tenant, direction: BatchDirection, items: [UserItem], mode: BatchMode = .partial,
                             idempotencyKey: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        guard !items.isEmpty else { throw AllotError.invalidInput("the batch is empty; give at least one user") }
        guard items.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "the batch has \(items.count) items but at most \(BatchLimits.itemsMax) are accepted; split it")
        }
        if let key = idempotencyKey {
            guard !key.isEmpty, key.count <= BatchLimits.idempotencyKeyLengthMax else {
                throw AllotError.invalidInput("an idempotency key must have 1 to \(BatchLimits.idempotencyKeyLengthMax) characters")
            }
            if let earlier = try earlierUserAnswer(tenant: tenant.id, key: key, direction: direction, items: items, mode: mode, queue: queue) {
                return earlier
            }
        }
        let run = { () throws -> UserBatchOutcome in
            if let key = idempotencyKey, mode != .dryRun,
               let earlier = try self.earlierUserAnswer(tenant: tenant.id, key: key, direction: direction, items: items, mode: mode, queue: queue) {
                return earlier
            }
            let key = mode == .dryRun ? nil : idempotencyKey
            let batch = try ledger.insertBatch(tenant: tenant.id, kind: direction.rawValue, itemCount: items.count, key: key)
            let plan = try planAndApplyUsers(tenant: tenant, direction: direction, items: items, batch: batch, queue: queue)
            if mode == .allOrNothing && plan.failedCount > 0 {
                throw UserAllOrNothingRefusal(outcome: UserBatchOutcome(batchId: nil, direction: direction, mode: mode, committed: false, items: plan.outcomes))
            }
            let committed = mode != .dryRun
            let outcome = UserBatchOutcome(batchId: committed ? batch : nil, direction: direction, mode: mode, committed: committed, items: plan.outcomes)
            if key != nil {
                try ledger.storeUserAnswer(batch: batch, outcome,
                                           fingerprint: BatchFingerprint.ofUsers(direction: direction, mode: mode, queue: queue, items: items))
            }
            try ledger.recordBatchEvent(tenant: tenant.id, direction: direction, batch: batch, items: items.count, counts: outcome.counts)
            if committed {
                let assets = Set(items.map(\.asset))
                if direction == .revoke {
                    let freed = Set(plan.outcomes.lazy.filter { $0.result == .revoked }.map(\.asset))
                    for asset in freed.sorted(by: { $0.description < $1.description }) { _ = try serving(tenant: tenant, asset: asset) }
                }
                try noteLicenceLevels(tenant: tenant, assets: assets)
            }
            return outcome
        }
        switch mode {
        case .dryRun:
            return try ledger.writeRolledBack(tenant: tenant.id, run)
        case .partial, .allOrNothing:
            do {
                return try ledger.write(tenant: tenant.id, run)
            } catch let refused as UserAllOrNothingRefusal {
                return refused.outcome
            }
        }
    }

    /// Decides one user batch and writes its effects inside the caller's write. With `queue`
    /// an assign's `no_license` items join the users' queue; a revoke takes them out of it.
    func planAndApplyUsers(tenant: Tenant, direction: BatchDirection, items: [UserItem], batch: BatchID, queue: Bool) throws -> UserBatchPlan {
        let assets = try ledger.resolveAssets(tenant: tenant.id, Set(items.map(\.asset)))
        let candidates = direction == .assign ? try ledger.poolCandidates(tenant: tenant.id, assets: assets.values.map(\.id)) : [:]
        var planner = UserBatchPlanner(direction: direction, policy: tenant.policy, assets: assets, candidates: candidates)
        var plan = try ledger.decideUsers(items, tenant: tenant.id, batch: batch, assets: assets, planner: &planner)
        switch direction {
        case .assign where queue:
            var queued = 0
            for (index, outcome) in plan.outcomes.enumerated() where outcome.result == .noLicense {
                try ledger.joinUserQueue(tenant: tenant.id, asset: outcome.asset, userId: outcome.userId)
                plan.outcomes[index] = UserItemOutcome(userId: outcome.userId, asset: outcome.asset, result: .queued,
                                                       reason: "no usable token has a free licence of this app; the user waits in the queue and gets one, in order, when licences appear")
                queued += 1
            }
            if queued > 0, let refusal = DemandQueue.refusal(waiting: try ledger.waitingCount(tenant: tenant.id) + ledger.userWaitingCount(tenant: tenant.id)) {
                throw AllotError(.tooLarge, refusal, subject: .queueFull)
            }
        case .assign: break
        case .revoke:
            for (index, outcome) in plan.outcomes.enumerated() where outcome.result == .notAssigned || outcome.result == .revoked {
                guard let asset = assets[outcome.asset] else { continue }
                if try ledger.leaveUserQueue(tenant: tenant.id, asset: asset.id, userId: outcome.userId), outcome.result == .notAssigned {
                    plan.outcomes[index] = UserItemOutcome(userId: outcome.userId, asset: outcome.asset, result: .notAssigned,
                                                           reason: "the user held no licence of this app; they were waiting in the queue and have left it")
                }
            }
        }
        try ledger.applyUserEffects(tenant: tenant.id, batch: batch, direction: direction, plan: plan)
        return plan
    }

    /// Inside the caller's write, after the devices waiting for an app were served: the users
    /// waiting for it get what licences are left, in order. Returns how many got one.
    func servingUsers(tenant: Tenant, asset key: AssetKey) throws -> Int {
        guard let asset = try ledger.resolveAssets(tenant: tenant.id, [key])[key] else { return 0 }
        let waiting = try ledger.userWaitingCount(tenant: tenant.id, asset: asset.id)
        guard waiting > 0 else { return 0 }
        let free = try ledger.poolCandidates(tenant: tenant.id, assets: [asset.id])[asset.id, default: []].reduce(0) { $0 + $1.available }
        let size = DemandQueue.servingSize(free: free, waiting: waiting)
        guard size > 0 else { return 0 }
        let head = try ledger.userQueueHead(tenant: tenant.id, asset: asset.id, limit: size)
        let batch = try ledger.insertBatch(tenant: tenant.id, kind: BatchDirection.assign.rawValue, itemCount: head.count, key: nil)
        let plan = try planAndApplyUsers(tenant: tenant, direction: .assign, items: head.map { UserItem(asset: key, userId: $0.userId) },
                                         batch: batch, queue: false)
        var left = waiting
        for (entry, outcome) in zip(head, plan.outcomes) where DemandQueue.leavesQueue(after: outcome.result) {
            try ledger.deleteUserQueueEntry(entry.entry)
            left -= 1
        }
        let outcome = UserBatchOutcome(batchId: batch, direction: .assign, mode: .partial, committed: true, items: plan.outcomes)
        try ledger.recordBatchEvent(tenant: tenant.id, direction: .assign, batch: batch, items: head.count, counts: outcome.counts)
        let served = outcome.counts[ItemResult.assigned.rawValue] ?? 0
        try ledger.recordQueueServed(tenant: tenant.id, asset: key, batch: batch, served: served, left: left)
        return served
    }

    private func earlierUserAnswer(tenant: TenantID, key: String, direction: BatchDirection, items: [UserItem], mode: BatchMode,
                                   queue: Bool) throws -> UserBatchOutcome? {
        guard let stored = try ledger.storedUserAnswer(tenant: tenant, key: key) else { return nil }
        let fingerprint = BatchFingerprint.ofUsers(direction: direction, mode: mode, queue: queue, items: items)
        guard let answer = stored.answer, answer.direction == direction, stored.fingerprint == fingerprint else {
            throw AllotError(.idempotencyKeyReused, "idempotency key '\(key.printableExcerpt)' already answered another request"
                             + "; send this request with a new key, or the first request unchanged to read its answer")
        }
        return answer
    }
}

/// Thrown inside the write to roll back an all-or-nothing user batch that had a failure.
private struct UserAllOrNothingRefusal: Error {
    let outcome: UserBatchOutcome
}
