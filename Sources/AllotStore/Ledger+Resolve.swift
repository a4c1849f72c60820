import AllotCore

/// What resolving a token's over-allocation did (or, dry, would do).
public struct ExcessResolution: Sendable, Hashable, Codable {
    public struct App: Sendable, Hashable, Codable {
        public let adamId: String
        public let pricingParam: String
        public let total: Int
        public let assignedHere: Int
        public let assignedElsewhere: Int
        public let excess: Int
        public let moved: Int
        public let revoked: Int
        /// Excess held by others at the location (another server's licences): not this server's to give back.
        public let unresolved: Int
    }
    public struct Move: Sendable, Hashable, Codable {
        public let serialNumber: String
        public let adamId: String
        public let pricingParam: String
        public let fromTokenId: TokenID
        public let toTokenId: TokenID
    }
    public let tokenId: TokenID
    public let dryRun: Bool
    public var apps: [App] = []
    public var moved: [Move] = []
    /// The revoked licences; `devices` need an uninstall.
    public var revocation = RevocationReport()
}

extension Ledger {
    /// Gives back what a token holds beyond Apple's total (issue 14 point 3), one transaction
    /// for every app (or `asset` only): `ExcessChoice` picks the assignments, newest first and
    /// the devices of `keepGroup` last; each moves to another usable token of the app with a
    /// free licence (disassociated here, associated there, through the outbox) or is revoked.
    /// `dryRun` decides the same and rolls back. Under the tenant's lock (`write`): the spare
    /// licences it reads on other tokens are not taken by a batch before it moves onto them, and
    /// a move is checked against its destination's total like any assign.
    public func resolveOverAllocation(tenant: Tenant, token: TokenID, asset: AssetKey?, keepGroup: String?, dryRun: Bool) throws -> ExcessResolution {
        let run = { () throws -> ExcessResolution in
            var resolution = ExcessResolution(tokenId: token, dryRun: dryRun)
            let overs = try self.overAllocations(tenant: tenant.id, token: token).filter { over in
                asset.map { over.adamId == $0.adamId && over.pricingParam == $0.pricingParam.rawValue } ?? true
            }
            var revokeDeltas: [PoolKey: Int] = [:], revokeSerials: [PoolKey: [SerialNumber]] = [:]
            var moveDeltas: [PoolKey: Int] = [:], moveSerials: [PoolKey: [SerialNumber]] = [:]
            var uninstall = Set<String>()
            var revoked = 0
            var movedRows: [(asset: AssetID, device: DeviceID, to: TokenID)] = []
            for over in overs {
                let key = try Self.storedAssetKey(adamId: over.adamId, pricingParam: over.pricingParam)
                guard let assetRef = try self.resolveAssets(tenant: tenant.id, [key])[key] else { continue }
                let holders = try self.database.query("""
                    SELECT a.device_id, d.serial, d.grp, a.batch_id FROM assignments a
                    JOIN devices d ON d.tenant_id = a.tenant_id AND d.id = a.device_id
                    WHERE a.tenant_id = ? AND a.token_id = ? AND a.asset_id = ?
                    """, [.integer(tenant.id.rawValue), .integer(token.rawValue), .integer(assetRef.id.rawValue)]) { row in
                    ExcessHolder(device: DeviceID(row.int64(0)), serial: row.string(1), group: row.optionalString(2), batch: BatchID(row.int64(3)))
                }
                let spare = try self.poolCandidates(tenant: tenant.id, assets: [assetRef.id])[assetRef.id, default: []].filter { $0.tokenId != token }
                let plan = ExcessChoice.choose(excess: over.excess, holders: holders, keepGroup: keepGroup, spare: spare, policy: tenant.policy)
                let from = PoolKey(tokenId: token, assetId: assetRef.id)
                for move in plan.moves {
                    // Pending until Apple confirms it on its new token (the move's batch, below).
                    let changed = try self.database.run("""
                        UPDATE assignments SET token_id = ?, status = 0 WHERE tenant_id = ? AND asset_id = ? AND device_id = ? AND token_id = ?
                        """, [.integer(move.to.rawValue), .integer(tenant.id.rawValue), .integer(assetRef.id.rawValue),
                              .integer(move.holder.device.rawValue), .integer(token.rawValue)])
                    precondition(changed == 1, "a holder read in this transaction is still there")
                    let to = PoolKey(tokenId: move.to, assetId: assetRef.id)
                    movedRows.append((assetRef.id, move.holder.device, move.to))
                    revokeDeltas[from, default: 0] -= 1
                    moveDeltas[to, default: 0] += 1
                    revokeSerials[from, default: []].append(SerialNumber(move.holder.serial)!)
                    moveSerials[to, default: []].append(SerialNumber(move.holder.serial)!)
                    resolution.moved.append(.init(serialNumber: move.holder.serial, adamId: key.adamId, pricingParam: key.pricingParam.rawValue,
                                                  fromTokenId: token, toTokenId: move.to))
                }
                for holder in plan.revokes {
                    let deleted = try self.database.run("DELETE FROM assignments WHERE tenant_id = ? AND asset_id = ? AND device_id = ?",
                                                        [.integer(tenant.id.rawValue), .integer(assetRef.id.rawValue), .integer(holder.device.rawValue)])
                    precondition(deleted == 1, "a holder read in this transaction is still there")
                    revokeDeltas[from, default: 0] -= 1
                    revokeSerials[from, default: []].append(SerialNumber(holder.serial)!)
                    uninstall.insert(holder.serial)
                    revoked += 1
                }
                resolution.apps.append(.init(adamId: over.adamId, pricingParam: over.pricingParam, total: over.total,
                                             assignedHere: over.assignedHere, assignedElsewhere: over.assignedElsewhere, excess: over.excess,
                                             moved: plan.moves.count, revoked: plan.revokes.count, unresolved: plan.unresolved))
            }
            let given = revokeSerials.values.reduce(0) { $0 + $1.count }
            guard given > 0 else { return resolution }
            // A revoke batch carries every licence leaving the token (Apple: disassociate there);
            // an assign batch carries the moved ones to their new tokens (associate).
            let revokeBatch = try self.insertBatch(tenant: tenant.id, kind: BatchDirection.revoke.rawValue, itemCount: given, key: nil)
            try self.applyEffects(tenant: tenant.id, batch: revokeBatch, direction: .revoke, poolDeltas: revokeDeltas,
                                  appleSerials: revokeSerials, changed: given)
            if !moveSerials.isEmpty {
                let moveBatch = try self.insertBatch(tenant: tenant.id, kind: BatchDirection.assign.rawValue, itemCount: resolution.moved.count, key: nil)
                // The destinations' counters move as an assign's do: never above their totals.
                try self.applyEffects(tenant: tenant.id, batch: moveBatch, direction: .assign, poolDeltas: moveDeltas,
                                      appleSerials: moveSerials, changed: resolution.moved.count)
                // The outbox confirms a row by the batch that carried it to Apple.
                for row in movedRows {
                    try self.database.run("UPDATE assignments SET batch_id = ? WHERE tenant_id = ? AND asset_id = ? AND device_id = ? AND token_id = ?",
                                          [.integer(moveBatch.rawValue), .integer(tenant.id.rawValue), .integer(row.asset.rawValue),
                                           .integer(row.device.rawValue), .integer(row.to.rawValue)])
                }
            }
            resolution.revocation = RevocationReport()
            resolution.revocation.revoked = revoked
            resolution.revocation.devices = uninstall.sorted()
            try self.recordEvent(tenant: tenant.id, kind: .overAllocationResolved, token: token,
                                 detail: ["moved": resolution.moved.count, "revoked": revoked,
                                          "unresolved": resolution.apps.reduce(0) { $0 + $1.unresolved }])
            return resolution
        }
        return try dryRun ? writeRolledBack(tenant: tenant.id, run) : write(tenant: tenant.id, run)
    }
}
