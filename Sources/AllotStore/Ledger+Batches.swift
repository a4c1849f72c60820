import AllotCore
import Foundation

/// The rows of a batch: the batch itself, its idempotent answer, the reads its decision needs
/// and the writes of what it decided. Deciding and the order of the steps are the engine's
/// (`Workflows.runBatch`); every call here runs inside the caller's tenant-scoped `write`.
extension Ledger {
    public func insertBatch(tenant: TenantID, kind: String, itemCount: Int, key: String?) throws -> BatchID {
        try database.run("INSERT INTO batches (tenant_id, kind, item_count, changed_count, idempotency_key, created_at) VALUES (?, ?, ?, 0, ?, ?)",
                         [.integer(tenant.rawValue), .text(kind), .integer(Int64(itemCount)), SQLValue(key), .integer(now)])
        return BatchID(try database.lastInsertRowID)
    }

    /// The answer a batch gave under an idempotency key, with the fingerprint of the request it
    /// answered (nil for answers stored before keys were bound). Nil when the key answered
    /// nothing yet.
    public func storedAnswer(tenant: TenantID, key: String) throws -> (answer: BatchOutcome, fingerprint: String?)? {
        guard let (response, fingerprint) = try database.queryFirst(
            "SELECT response, request_fingerprint FROM batches WHERE tenant_id = ? AND idempotency_key = ?",
            [.integer(tenant.rawValue), .text(key)], row: { ($0.blob(0), $0.optionalString(1)) }), let response else { return nil }
        do {
            return (try JSONDecoder().decode(BatchOutcome.self, from: Data(response)), fingerprint)
        } catch where (try? JSONDecoder().decode(UserBatchOutcome.self, from: Data(response))) != nil {
            throw AllotError(.idempotencyKeyReused, "idempotency key '\(key.printableExcerpt)' already answered another request (a batch of users)"
                             + "; send this request with a new key, or the first request unchanged to read its answer")
        } catch {
            throw StoredValueError(column: "batches.response", value: "\(response.count) bytes that are not a batch's answer")
        }
    }

    /// Keeps a batch's answer for a retry with the same key.
    public func storeAnswer(batch: BatchID, _ outcome: BatchOutcome, fingerprint: String) throws {
        try database.run("UPDATE batches SET response = ?, request_fingerprint = ? WHERE id = ?",
                         [.blob(Array(try JSONEncoder().encode(outcome))), .text(fingerprint), .integer(batch.rawValue)])
    }

    /// Decides `items` with `planner` against the tenant's assignment rows and writes the
    /// assignment rows it decided (each backend its own hot path: `SQLiteAssignmentLedger`,
    /// `PostgresBatchLedger`). Pool counts are read afresh, so a chunk sees what earlier chunks
    /// of the same transaction spent.
    public func decide(_ items: [BatchItem], tenant: TenantID, batch: BatchID, assets: [AssetKey: AssetRef],
                       planner: inout BatchPlanner) throws -> BatchPlan {
        if let sqlite {
            try deviceCache.validate(database: sqlite)
            let devices = try deviceCache.table(tenant: tenant, database: sqlite)
            var ledger = try SQLiteAssignmentLedger(database: sqlite, tenant: tenant, batch: batch, devices: devices)
            return try planner.plan(items, ledger: &ledger)
        } else if let postgres {
            var ledger = try PostgresBatchLedger(database: postgres, tenant: tenant, items: items, assets: assets)
            let plan = try planner.plan(items, ledger: &ledger.model)
            try ledger.write(batch: batch)
            return plan
        } else {
            preconditionFailure("a ledger is in SQLite or in PostgreSQL")
        }
    }

    /// Writes what a batch decided: one counter update per pool touched, one outbox operation
    /// per pool for Apple, and the batch's count of changed rows.
    public func applyEffects(tenant: TenantID, batch: BatchID, direction: BatchDirection,
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
    public func enqueueForApple(tenant: TenantID, batch: BatchID?, kind: OutboxKind, _ appleSerials: [PoolKey: [SerialNumber]]) throws {
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
            guard try deleteAssignment(tenant: tenant, asset: row.asset, device: row.device) else { continue }
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

    /// Deletes one assignment row; false when the device did not hold the app.
    public func deleteAssignment(tenant: TenantID, asset: AssetID, device: DeviceID) throws -> Bool {
        try database.run("DELETE FROM assignments WHERE tenant_id = ? AND asset_id = ? AND device_id = ?",
                         [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(device.rawValue)]) == 1
    }

    /// The one event of an assign or revoke batch.
    public func recordBatchEvent(tenant: TenantID, direction: BatchDirection, batch: BatchID, items: Int, counts: [String: Int]) throws {
        try recordEvent(tenant: tenant, kind: .batch(direction), detail: BatchEventDetail(batchId: batch, items: items, counts: counts))
    }

    /// The tenant's assets among `keys`, one query per distinct asset of the batch.
    public func resolveAssets(tenant: TenantID, _ keys: Set<AssetKey>) throws -> [AssetKey: AssetRef] {
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
    public func poolCandidates(tenant: TenantID, assets: [AssetID]) throws -> [AssetID: [PoolCandidate]] {
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

private struct BatchEventDetail: Encodable {
    let batchId: BatchID
    let items: Int
    let counts: [String: Int]
}
