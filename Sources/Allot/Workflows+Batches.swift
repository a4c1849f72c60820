import AllotCore
import AllotStore

extension Workflows {
    /// Runs an assign or revoke batch for one tenant: every item decided in order, the
    /// successful ones committed in one write with their pool counters, the operations for
    /// Apple (outbox) and one event. All-or-nothing commits nothing if any item fails; dry-run
    /// decides exactly as a real run would, then rolls back. With an idempotency key, a repeated
    /// batch returns the first answer and applies nothing. With `queue`, an assign item that
    /// finds no free licence waits in its app's queue (`queued`) instead of `no_license`.
    /// What a committed batch sets off runs in the same write: a revoke's freed licences serve
    /// the queues of unmet demand (unless `servesQueues` is false: a roll-out's chunk), and the
    /// batch's apps are checked against `licences_low`.
    public func runBatch(tenant: Tenant, direction: BatchDirection, items: [BatchItem], mode: BatchMode = .partial,
                         idempotencyKey: String? = nil, queue: Bool = false, servesQueues: Bool = true) throws -> BatchOutcome {
        guard !items.isEmpty else { throw AllotError.invalidInput("the batch is empty; give at least one serial number") }
        guard items.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "the batch has \(items.count) items but at most \(BatchLimits.itemsMax) are accepted; split it")
        }
        if let key = idempotencyKey {
            guard !key.isEmpty, key.count <= BatchLimits.idempotencyKeyLengthMax else {
                throw AllotError.invalidInput("an idempotency key must have 1 to \(BatchLimits.idempotencyKeyLengthMax) characters")
            }
            if let earlier = try earlierAnswer(tenant: tenant.id, key: key, direction: direction, items: items, mode: mode, queue: queue) {
                return earlier
            }
        }
        let run = { () throws -> BatchOutcome in
            try self.decideAndApply(tenant: tenant, direction: direction, items: items, mode: mode,
                                    idempotencyKey: mode == .dryRun ? nil : idempotencyKey, queue: queue, servesQueues: servesQueues)
        }
        switch mode {
        case .dryRun:
            return try ledger.writeRolledBack(tenant: tenant.id, run)
        case .partial, .allOrNothing:
            do {
                return try ledger.write(tenant: tenant.id, run)
            } catch let refused as AllOrNothingRefusal {
                return refused.outcome
            }
        }
    }

    private func decideAndApply(tenant: Tenant, direction: BatchDirection, items: [BatchItem],
                                mode: BatchMode, idempotencyKey: String?, queue: Bool, servesQueues: Bool) throws -> BatchOutcome {
        // Asked again under the lock: another node may have answered the same key since.
        if let key = idempotencyKey,
           let earlier = try earlierAnswer(tenant: tenant.id, key: key, direction: direction, items: items, mode: mode, queue: queue) {
            return earlier
        }
        let batch = try ledger.insertBatch(tenant: tenant.id, kind: direction.rawValue, itemCount: items.count, key: idempotencyKey)
        let plan = try planAndApply(tenant: tenant, direction: direction, items: items, batch: batch, queue: queue)
        if mode == .allOrNothing && plan.failedCount > 0 {
            let outcome = BatchOutcome(batchId: nil, direction: direction, mode: mode, committed: false, items: plan.outcomes)
            throw AllOrNothingRefusal(outcome: outcome)
        }
        let committed = mode != .dryRun
        let outcome = BatchOutcome(batchId: committed ? batch : nil, direction: direction, mode: mode,
                                   committed: committed, items: plan.outcomes)
        if idempotencyKey != nil {
            try ledger.storeAnswer(batch: batch, outcome, fingerprint: BatchFingerprint.of(direction: direction, mode: mode, queue: queue, items: items))
        }
        try ledger.recordBatchEvent(tenant: tenant.id, direction: direction, batch: batch, items: items.count, counts: outcome.counts)
        if committed {
            try afterCommitting(tenant: tenant, direction: direction, assets: Set(items.map(\.asset)),
                                freed: servesQueues ? Self.freedAssets(plan.outcomes) : [])
        }
        return outcome
    }

    /// Decides one batch (or one chunk of a roll-out) and writes its effects inside the
    /// caller's write. The queue of unmet demand is kept here too: with `queue` an assign's
    /// `no_license` items join it; a revoke takes its devices out of it.
    func planAndApply(tenant: Tenant, direction: BatchDirection, items: [BatchItem], batch: BatchID, queue: Bool) throws -> BatchPlan {
        let assets = try ledger.resolveAssets(tenant: tenant.id, Set(items.map(\.asset)))
        let candidates = direction == .assign ? try ledger.poolCandidates(tenant: tenant.id, assets: assets.values.map(\.id)) : [:]
        var planner = BatchPlanner(direction: direction, policy: tenant.policy, assets: assets, candidates: candidates)
        var plan = try ledger.decide(items, tenant: tenant.id, batch: batch, assets: assets, planner: &planner)
        switch direction {
        case .assign where queue: plan.outcomes = try queueUnmet(tenant: tenant.id, outcomes: plan.outcomes)
        case .assign: break
        case .revoke: plan.outcomes = try leaveQueues(tenant: tenant.id, assets: assets, outcomes: plan.outcomes)
        }
        try ledger.applyEffects(tenant: tenant.id, batch: batch, direction: direction, poolDeltas: plan.poolDeltas,
                                appleSerials: plan.appleSerials, changed: plan.changedCount)
        return plan
    }

    /// A roll-out of many chunks that commits whole (all-or-nothing) or never (dry-run): every
    /// chunk decided and applied in one write, under one batch row and one event, so memory
    /// holds one chunk at a time while the decision stays that of one batch. `nextChunk` gives
    /// the items chunk by chunk (nil at the end); `chunkDone` sees the tally after each one and
    /// may throw to stop, which rolls everything back. Returns the batch id when it committed.
    public func runBatchInOneTransaction(tenant: Tenant, direction: BatchDirection, mode: BatchMode, queue: Bool = false, tally: inout BatchTally,
                                         nextChunk: () throws -> [BatchItem]?, chunkDone: (BatchTally) throws -> Void) throws -> BatchID? {
        precondition(mode != .partial, "a partial roll-out commits chunk by chunk, not in one transaction")
        var running = tally
        defer { tally = running }
        // A local function, not a closure value: it captures the non-escaping callbacks.
        func run() throws -> BatchID? {
            let batch = try ledger.insertBatch(tenant: tenant.id, kind: direction.rawValue, itemCount: running.total, key: nil)
            var assets = Set<AssetKey>(), freed = Set<AssetKey>()
            while let items = try nextChunk() {
                let plan = try planAndApply(tenant: tenant, direction: direction, items: items, batch: batch, queue: queue)
                running.add(plan.outcomes)
                assets.formUnion(items.map(\.asset))
                freed.formUnion(Self.freedAssets(plan.outcomes))
                try chunkDone(running)
            }
            if mode == .allOrNothing && running.failed > 0 { throw RollOutRefusal() }
            try ledger.recordBatchEvent(tenant: tenant.id, direction: direction, batch: batch, items: running.decided, counts: running.counts)
            if mode != .dryRun { try afterCommitting(tenant: tenant, direction: direction, assets: assets, freed: freed) }
            return batch
        }
        if mode == .dryRun {
            _ = try ledger.writeRolledBack(tenant: tenant.id, run)
            return nil
        }
        do {
            // Not retried: `nextChunk` cannot give its chunks twice.
            return try ledger.write(tenant: tenant.id, retrying: false, run)
        } catch is RollOutRefusal {
            return nil
        }
    }

    /// In the batch's own write: the licences a revoke gave back serve the queues of unmet
    /// demand, then the batch's apps may have crossed (or recovered from) a licences_low
    /// threshold.
    private func afterCommitting(tenant: Tenant, direction: BatchDirection, assets: Set<AssetKey>, freed: Set<AssetKey>) throws {
        if direction == .revoke {
            for asset in freed.sorted(by: { $0.description < $1.description }) {
                _ = try serving(tenant: tenant, asset: asset)
            }
        }
        try noteLicenceLevels(tenant: tenant, assets: assets)
    }

    private static func freedAssets(_ outcomes: [ItemOutcome]) -> Set<AssetKey> {
        Set(outcomes.lazy.filter { $0.result == .revoked }.map { AssetKey(adamId: $0.adamId, pricingParam: $0.pricingParam) })
    }

    /// The first answer to a batch with this key, or nil. The key is bound to the request it
    /// answered (`BatchFingerprint`): another request with it is refused, never answered.
    private func earlierAnswer(tenant: TenantID, key: String, direction: BatchDirection, items: [BatchItem], mode: BatchMode,
                               queue: Bool) throws -> BatchOutcome? {
        guard let stored = try ledger.storedAnswer(tenant: tenant, key: key) else { return nil }
        if let refusal = BatchFingerprint.reuseRefusal(key: key, answered: stored.answer.direction, answeredFingerprint: stored.fingerprint,
                                                       direction: direction, mode: mode, queue: queue, items: items) {
            throw refusal
        }
        return stored.answer
    }

    /// Inside an assign batch that asked to queue: the `no_license` items join their app's
    /// queue (a device already waiting keeps its place) and answer `queued`. Refused whole when
    /// the tenant's queues would pass `DemandQueue.entriesPerTenantMax`.
    private func queueUnmet(tenant: TenantID, outcomes: [ItemOutcome]) throws -> [ItemOutcome] {
        let (queuedOutcomes, queued) = DemandQueue.queueing(outcomes)
        guard !queued.isEmpty else { return outcomes }
        for index in queued {
            let item = outcomes[index]
            try ledger.joinQueue(tenant: tenant, asset: AssetKey(adamId: item.adamId, pricingParam: item.pricingParam), serial: item.serialNumber)
        }
        if let refusal = DemandQueue.refusal(waiting: try ledger.waitingCount(tenant: tenant)) {
            throw AllotError(.tooLarge, refusal, subject: .queueFull)
        }
        return queuedOutcomes
    }

    /// Inside a revoke batch: a device revoked from an app also leaves that app's queue.
    private func leaveQueues(tenant: TenantID, assets: [AssetKey: AssetRef], outcomes: [ItemOutcome]) throws -> [ItemOutcome] {
        var result = outcomes
        for (key, asset) in assets where try ledger.hasWaiting(tenant: tenant, asset: asset.id) {
            for (index, outcome) in outcomes.enumerated()
            where outcome.adamId == key.adamId && outcome.pricingParam == key.pricingParam
                && (outcome.result == .notAssigned || outcome.result == .revoked) {
                if try ledger.leaveQueue(tenant: tenant, asset: asset.id, serial: outcome.serialNumber) {
                    result[index] = DemandQueue.leftQueue(outcome)
                }
            }
        }
        return result
    }
}

/// Thrown inside the write to roll back an all-or-nothing batch that had a failure.
private struct AllOrNothingRefusal: Error {
    let outcome: BatchOutcome
}

/// Thrown inside a one-transaction roll-out to roll back an all-or-nothing one that had a failure.
private struct RollOutRefusal: Error {}
