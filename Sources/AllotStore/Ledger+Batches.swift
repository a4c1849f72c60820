import AllotCore
import Foundation

extension Ledger {
    /// Runs an assign or revoke batch for one tenant: every item decided in order, the
    /// successful ones committed in one transaction with their pool counters, the operations
    /// for Apple (outbox) and one event. All-or-nothing commits nothing if any item fails;
    /// dry-run decides exactly as a real run would, then rolls back. With an idempotency key,
    /// a repeated batch returns the first answer and applies nothing. With `queue`, an assign
    /// item that finds no free licence waits in its app's queue (`queued`) instead of `no_license`.
    public func runBatch(tenant: Tenant, direction: BatchDirection, items: [BatchItem],
                         mode: BatchMode = .partial, idempotencyKey: String? = nil, queue: Bool = false) throws -> BatchOutcome {
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
                                    idempotencyKey: mode == .dryRun ? nil : idempotencyKey, queue: queue)
        }
        switch mode {
        case .dryRun:
            return try writeRolledBack(tenant: tenant.id, run)
        case .partial, .allOrNothing:
            do {
                return try write(tenant: tenant.id, run)
            } catch let refused as AllOrNothingRefusal {
                return refused.outcome
            }
        }
    }

    private func decideAndApply(tenant: Tenant, direction: BatchDirection, items: [BatchItem],
                                mode: BatchMode, idempotencyKey: String?, queue: Bool) throws -> BatchOutcome {
        // Asked again under the lock: another node may have answered the same key since.
        if let key = idempotencyKey,
           let earlier = try earlierAnswer(tenant: tenant.id, key: key, direction: direction, items: items, mode: mode, queue: queue) {
            return earlier
        }
        let batch = try insertBatch(tenant: tenant.id, kind: direction.rawValue, itemCount: items.count, key: idempotencyKey)
        let plan = try planAndApply(tenant: tenant, direction: direction, items: items, batch: batch, queue: queue)
        if mode == .allOrNothing && plan.failedCount > 0 {
            let outcome = BatchOutcome(batchId: nil, direction: direction, mode: mode, committed: false, items: plan.outcomes)
            throw AllOrNothingRefusal(outcome: outcome)
        }
        let committed = mode != .dryRun
        let outcome = BatchOutcome(batchId: committed ? batch : nil, direction: direction, mode: mode,
                                   committed: committed, items: plan.outcomes)
        if idempotencyKey != nil {
            try database.run("UPDATE batches SET response = ?, request_fingerprint = ? WHERE id = ?",
                             [.blob(Array(try JSONEncoder().encode(outcome))),
                              .text(BatchFingerprint.of(direction: direction, mode: mode, queue: queue, items: items)), .integer(batch.rawValue)])
        }
        try recordBatchEvent(tenant: tenant.id, direction: direction, batch: batch, items: items.count, counts: outcome.counts)
        return outcome
    }

    /// Decides one batch (or one chunk of a roll-out) and applies its effects inside the
    /// caller's transaction. Pool counts are read afresh, so a chunk sees what earlier chunks
    /// of the same transaction spent. The queue of unmet demand is kept here too: with `queue`
    /// an assign's `no_license` items join it; a revoke takes its devices out of it.
    func planAndApply(tenant: Tenant, direction: BatchDirection, items: [BatchItem], batch: BatchID, queue: Bool) throws -> BatchPlan {
        let assets = try resolveAssets(tenant: tenant.id, Set(items.map(\.asset)))
        let candidates = direction == .assign ? try poolCandidates(tenant: tenant.id, assets: assets.values.map(\.id)) : [:]
        var planner = BatchPlanner(direction: direction, policy: tenant.policy, assets: assets, candidates: candidates)
        var plan: BatchPlan
        if let sqlite {
            try deviceCache.validate(database: sqlite)
            let devices = try deviceCache.table(tenant: tenant.id, database: sqlite)
            var ledger = try SQLiteAssignmentLedger(database: sqlite, tenant: tenant.id, batch: batch, devices: devices)
            plan = try planner.plan(items, ledger: &ledger)
        } else if let postgres {
            var ledger = try PostgresBatchLedger(database: postgres, tenant: tenant.id, items: items, assets: assets)
            plan = try planner.plan(items, ledger: &ledger.model)
            try ledger.write(batch: batch)
        } else {
            preconditionFailure("a ledger is in SQLite or in PostgreSQL")
        }
        switch direction {
        case .assign where queue: plan.outcomes = try queueUnmet(tenant: tenant.id, outcomes: plan.outcomes)
        case .assign: break
        case .revoke: plan.outcomes = try leaveQueues(tenant: tenant.id, assets: assets, outcomes: plan.outcomes)
        }
        try applyEffects(tenant: tenant.id, batch: batch, direction: direction, poolDeltas: plan.poolDeltas,
                         appleSerials: plan.appleSerials, changed: plan.changedCount)
        return plan
    }

    /// A roll-out of many chunks that commits whole (all-or-nothing) or never (dry-run): every
    /// chunk decided and applied in one transaction, under one batch row and one event, so
    /// memory holds one chunk at a time while the decision stays that of one batch.
    /// `nextChunk` gives the items chunk by chunk (nil at the end); `chunkDone` sees the tally
    /// after each one and may throw to stop, which rolls everything back. Returns the batch id
    /// when it committed.
    public func runBatchInOneTransaction(tenant: Tenant, direction: BatchDirection, mode: BatchMode, queue: Bool = false, tally: inout BatchTally,
                                         nextChunk: () throws -> [BatchItem]?, chunkDone: (BatchTally) throws -> Void) throws -> BatchID? {
        precondition(mode != .partial, "a partial roll-out commits chunk by chunk, not in one transaction")
        var running = tally
        defer { tally = running }
        // A local function, not a closure value: it captures the non-escaping callbacks.
        func run() throws -> BatchID? {
            let batch = try insertBatch(tenant: tenant.id, kind: direction.rawValue, itemCount: running.total, key: nil)
            while let items = try nextChunk() {
                let plan = try planAndApply(tenant: tenant, direction: direction, items: items, batch: batch, queue: queue)
                running.add(plan.outcomes)
                try chunkDone(running)
            }
            if mode == .allOrNothing && running.failed > 0 { throw RollOutRefusal() }
            try recordBatchEvent(tenant: tenant.id, direction: direction, batch: batch, items: running.decided, counts: running.counts)
            return batch
        }
        if mode == .dryRun {
            _ = try writeRolledBack(tenant: tenant.id, run)
            return nil
        }
        do {
            // Not retried: `nextChunk` cannot give its chunks twice.
            return try write(tenant: tenant.id, retrying: false, run)
        } catch is RollOutRefusal {
            return nil
        }
    }

    /// Commits what a batch decided: one counter update per pool touched, one outbox operation
    /// per pool for Apple, and the batch's count of changed rows.
    func applyEffects(tenant: TenantID, batch: BatchID, direction: BatchDirection,
                      poolDeltas: [PoolKey: Int], appleSerials: [PoolKey: [SerialNumber]], changed: Int) throws {
        for (pool, delta) in poolDeltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
            let counts = try database.queryFirst("""
                UPDATE pool SET assigned_here = assigned_here + ?3 WHERE token_id = ?1 AND asset_id = ?2
                RETURNING assigned_here, total
                """, [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue), .integer(Int64(delta))]) { ($0.int(0), $0.int(1)) }
            guard let (assignedHere, total) = counts else { preconditionFailure("a batch drew on pool \(pool) that does not exist") }
            precondition(assignedHere >= 0, "pool \(pool) went below zero assignments")
            // Revocations may leave an over-allocated pool above its total; an assign batch never
            // takes a pool above it, since the planner spends only free licences.
            precondition(direction == .revoke || assignedHere <= total, "an assign batch took pool \(pool) above its total")
        }
        try enqueueForApple(tenant: tenant, batch: batch, kind: direction == .assign ? .associate : .disassociate, appleSerials)
        // A roll-out in one transaction applies several chunks to one batch row: add, not set.
        try database.run("UPDATE batches SET changed_count = changed_count + ? WHERE id = ?", [.integer(Int64(changed)), .integer(batch.rawValue)])
    }

    /// One outbox operation per pool: the asset and its serials. Chunked to Apple's live
    /// limits when pushed, not here, since the limits can change before then.
    func enqueueForApple(tenant: TenantID, batch: BatchID?, kind: OutboxKind, _ appleSerials: [PoolKey: [SerialNumber]]) throws {
        guard !appleSerials.isEmpty else { return }
        let assetKeys = try assetKeys(ids: Set(appleSerials.keys.map(\.assetId)))
        for (pool, serials) in appleSerials.sorted(by: { $0.key < $1.key }) where !serials.isEmpty {
            try insertOperation(tenant: tenant, token: pool.tokenId, kind: kind, asset: assetKeys[pool.assetId]!,
                                serials: serials.lazy.map(\.value), batch: batch?.rawValue)
        }
    }

    /// Takes back assignments that are already known (retire, token removal): local at once,
    /// Apple through the outbox.
    func revoke(tenant: TenantID, _ held: [HeldAssignment], batchKind: String) throws -> RevocationReport {
        var report = RevocationReport()
        guard !held.isEmpty else { return report }
        let batch = try insertBatch(tenant: tenant, kind: batchKind, itemCount: held.count, key: nil)
        var deltas: [PoolKey: Int] = [:]
        var serials: [PoolKey: [SerialNumber]] = [:]
        var devices = Set<String>()
        for row in held {
            guard try database.run("DELETE FROM assignments WHERE tenant_id = ? AND asset_id = ? AND device_id = ?",
                                   [.integer(tenant.rawValue), .integer(row.asset.rawValue), .integer(row.device.rawValue)]) == 1 else { continue }
            let pool = PoolKey(tokenId: row.token, assetId: row.asset)
            deltas[pool, default: 0] -= 1
            serials[pool, default: []].append(SerialNumber(row.serial)!)
            devices.insert(row.serial)
            report.revoked += 1
        }
        try applyEffects(tenant: tenant, batch: batch, direction: .revoke, poolDeltas: deltas, appleSerials: serials, changed: report.revoked)
        report.devices = devices.sorted()
        return report
    }

    /// The one event of an assign or revoke batch.
    func recordBatchEvent(tenant: TenantID, direction: BatchDirection, batch: BatchID, items: Int, counts: [String: Int]) throws {
        try recordEvent(tenant: tenant, kind: .batch(direction), detail: BatchEventDetail(batchId: batch, items: items, counts: counts))
    }

    func insertBatch(tenant: TenantID, kind: String, itemCount: Int, key: String?) throws -> BatchID {
        try database.run("INSERT INTO batches (tenant_id, kind, item_count, changed_count, idempotency_key, created_at) VALUES (?, ?, ?, 0, ?, ?)",
                         [.integer(tenant.rawValue), .text(kind), .integer(Int64(itemCount)), SQLValue(key), .integer(now)])
        return BatchID(try database.lastInsertRowID)
    }

    /// The first answer to a batch with this key, or nil. The key is bound to the request it
    /// answered (`BatchFingerprint`): another request with it is refused, never answered.
    private func earlierAnswer(tenant: TenantID, key: String, direction: BatchDirection, items: [BatchItem], mode: BatchMode,
                               queue: Bool) throws -> BatchOutcome? {
        guard let (response, fingerprint) = try database.queryFirst(
            "SELECT response, request_fingerprint FROM batches WHERE tenant_id = ? AND idempotency_key = ?",
            [.integer(tenant.rawValue), .text(key)], row: { ($0.blob(0), $0.optionalString(1)) }) else { return nil }
        guard let response else { return nil }
        let earlier = try JSONDecoder().decode(BatchOutcome.self, from: Data(response))
        let reused = AllotError(.idempotencyKeyReused, "idempotency key '\(key.printableExcerpt)' already answered another request"
                                + (earlier.direction == direction ? "" : " (a \(earlier.direction.rawValue) batch)")
                                + "; send this request with a new key, or the first request unchanged to read its answer")
        guard earlier.direction == direction else { throw reused }
        // A batch answered before keys were bound has no fingerprint: it replays as it did.
        if let fingerprint, fingerprint != BatchFingerprint.of(direction: direction, mode: mode, queue: queue, items: items) { throw reused }
        return earlier
    }

    /// The tenant's assets among `keys`, one query per distinct asset of the batch.
    func resolveAssets(tenant: TenantID, _ keys: Set<AssetKey>) throws -> [AssetKey: AssetRef] {
        var assets: [AssetKey: AssetRef] = [:]
        for key in keys {
            if let asset = try database.queryFirst(
                "SELECT id, device_assignable FROM assets WHERE tenant_id = ? AND adam_id = ? AND pricing_param = ?",
                [.integer(tenant.rawValue), .text(key.adamId), .text(key.pricingParam.rawValue)],
                row: { AssetRef(id: AssetID($0.int64(0)), deviceAssignable: $0.bool(1)) }) {
                assets[key] = asset
            }
        }
        return assets
    }

    /// The usable tokens' pools of each asset, with their free licences.
    func poolCandidates(tenant: TenantID, assets: [AssetID]) throws -> [AssetID: [PoolCandidate]] {
        var candidates: [AssetID: [PoolCandidate]] = [:]
        for asset in assets {
            candidates[asset] = try database.query("""
                SELECT p.token_id, p.total - p.assigned_here - p.assigned_elsewhere, t.expires_at, t.priority
                FROM pool p JOIN tokens t ON t.id = p.token_id
                WHERE t.tenant_id = ? AND p.asset_id = ? AND \(TokenState.usableSQL(state: "t.state", expiresAt: "t.expires_at", now: "?"))
                ORDER BY p.token_id
                """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(now)]) { row in
                PoolCandidate(tokenId: TokenID(row.int64(0)), available: max(0, row.int(1)),
                              expiresAt: row.int64(2), priority: row.int(3))
            }
        }
        return candidates
    }

    func assetKeys(ids: Set<AssetID>) throws -> [AssetID: AssetKey] {
        var keys: [AssetID: AssetKey] = [:]
        for id in ids {
            keys[id] = try database.queryFirst("SELECT adam_id, pricing_param FROM assets WHERE id = ?", [.integer(id.rawValue)]) { row in
                try Self.storedAssetKey(adamId: row.string(0), pricingParam: row.string(1))
            }
        }
        return keys
    }
}

/// Thrown inside the transaction to roll back an all-or-nothing batch that had a failure.
private struct AllOrNothingRefusal: Error {
    let outcome: BatchOutcome
}

/// Thrown inside a one-transaction roll-out to roll back an all-or-nothing one that had a failure.
private struct RollOutRefusal: Error {}

private struct BatchEventDetail: Encodable {
    let batchId: BatchID
    let items: Int
    let counts: [String: Int]
}
