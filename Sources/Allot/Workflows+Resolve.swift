import AllotCore
import AllotStore

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

extension Workflows {
    /// Gives back what a token holds beyond Apple's total, in one write for every app (or
    /// `asset` only): `ExcessChoice` picks the assignments, newest first and the devices of
    /// `keepGroup` last; each moves to another usable token of the app with a free licence
    /// (disassociated here, associated there, through the outbox) or is revoked. `dryRun`
    /// decides the same and rolls back. Under the tenant's lock: the spare licences it reads on
    /// other tokens are not taken by a batch before it moves onto them, and a move is checked
    /// against its destination's total like any assign (`Ledger.applyEffects`).
    public func resolveOverAllocation(tenant: Tenant, token: TokenID, asset: AssetKey?, keepGroup: String?, dryRun: Bool) throws -> ExcessResolution {
        let run = { () throws -> ExcessResolution in
            var resolution = ExcessResolution(tokenId: token, dryRun: dryRun)
            var moves = PoolChanges(), revokes = PoolChanges()
            var uninstall = Set<String>()
            var revoked = 0
            var movedRows: [(asset: AssetID, device: DeviceID, to: TokenID)] = []
            let overs = try ledger.overAllocations(tenant: tenant.id, token: token).filter { over in
                asset.map { over.adamId == $0.adamId && over.pricingParam == $0.pricingParam.rawValue } ?? true
            }
            for over in overs {
                let key = try Ledger.storedAssetKey(adamId: over.adamId, pricingParam: over.pricingParam)
                guard let assetRef = try ledger.resolveAssets(tenant: tenant.id, [key])[key] else { continue }
                let holders = try ledger.excessHolders(tenant: tenant.id, token: token, asset: assetRef.id)
                let spare = try ledger.poolCandidates(tenant: tenant.id, assets: [assetRef.id])[assetRef.id, default: []].filter { $0.tokenId != token }
                let plan = ExcessChoice.choose(excess: over.excess, holders: holders, keepGroup: keepGroup, spare: spare, policy: tenant.policy)
                let from = PoolKey(tokenId: token, assetId: assetRef.id)
                for move in plan.moves {
                    let moved = try ledger.moveAssignment(tenant: tenant.id, asset: assetRef.id, device: move.holder.device, from: token, to: move.to)
                    precondition(moved, "a holder read in this write is still there")
                    movedRows.append((assetRef.id, move.holder.device, move.to))
                    revokes.add(move.holder.serial, to: from, by: -1)
                    moves.add(move.holder.serial, to: PoolKey(tokenId: move.to, assetId: assetRef.id), by: 1)
                    resolution.moved.append(.init(serialNumber: move.holder.serial, adamId: key.adamId, pricingParam: key.pricingParam.rawValue,
                                                  fromTokenId: token, toTokenId: move.to))
                }
                for holder in plan.revokes {
                    let deleted = try ledger.deleteAssignment(tenant: tenant.id, asset: assetRef.id, device: holder.device)
                    precondition(deleted, "a holder read in this write is still there")
                    revokes.add(holder.serial, to: from, by: -1)
                    uninstall.insert(holder.serial)
                    revoked += 1
                }
                resolution.apps.append(.init(adamId: over.adamId, pricingParam: over.pricingParam, total: over.total,
                                             assignedHere: over.assignedHere, assignedElsewhere: over.assignedElsewhere, excess: over.excess,
                                             moved: plan.moves.count, revoked: plan.revokes.count, unresolved: plan.unresolved))
            }
            guard revokes.count > 0 else { return resolution }
            // A revoke batch carries every licence leaving the token (Apple: disassociate there);
            // an assign batch carries the moved ones to their new tokens (associate).
            let revokeBatch = try ledger.insertBatch(tenant: tenant.id, kind: BatchDirection.revoke.rawValue, itemCount: revokes.count, key: nil)
            try ledger.applyEffects(tenant: tenant.id, batch: revokeBatch, direction: .revoke, poolDeltas: revokes.deltas,
                                    appleSerials: revokes.serials, changed: revokes.count)
            if moves.count > 0 {
                let moveBatch = try ledger.insertBatch(tenant: tenant.id, kind: BatchDirection.assign.rawValue, itemCount: moves.count, key: nil)
                // The destinations' counters move as an assign's do: never above their totals.
                try ledger.applyEffects(tenant: tenant.id, batch: moveBatch, direction: .assign, poolDeltas: moves.deltas,
                                        appleSerials: moves.serials, changed: moves.count)
                for row in movedRows {
                    try ledger.setAssignmentBatch(tenant: tenant.id, asset: row.asset, device: row.device, token: row.to, batch: moveBatch)
                }
            }
            resolution.revocation.revoked = revoked
            resolution.revocation.devices = uninstall.sorted()
            try ledger.recordEvent(tenant: tenant.id, kind: .overAllocationResolved, token: token,
                                   detail: ["moved": resolution.moved.count, "revoked": revoked,
                                            "unresolved": resolution.apps.reduce(0) { $0 + $1.unresolved }])
            return resolution
        }
        return try dryRun ? ledger.writeRolledBack(tenant: tenant.id, run) : ledger.write(tenant: tenant.id, run)
    }
}

/// The counter changes and the serials for Apple of a set of moved or revoked licences, per pool.
private struct PoolChanges {
    var deltas: [PoolKey: Int] = [:]
    var serials: [PoolKey: [SerialNumber]] = [:]
    var count = 0

    mutating func add(_ serial: String, to pool: PoolKey, by delta: Int) {
        deltas[pool, default: 0] += delta
        serials[pool, default: []].append(SerialNumber(serial)!)
        count += 1
    }
}
