import AllotCore
import AllotStore

extension Workflows {
    /// Repairs a token's drift in one write: what Apple lacks is queued for Apple again; what
    /// Apple holds is recorded as confirmed, on a device registered if unknown, except on a
    /// retired device (queued for disassociation) or a device that holds the app through
    /// another token (left, and reported again).
    public func repairDrift(tenant: TenantID, token: TokenID, _ drift: [AssignmentDrift]) throws -> DriftRepair {
        try ledger.write(tenant: tenant) {
            guard try ledger.isToken(token, of: tenant) else { throw AllotError.notFound("token \(token) is not this tenant's") }
            var repair = DriftRepair()
            guard !drift.isEmpty else { return repair }
            let keys = Set(try drift.map { try Ledger.storedAssetKey(adamId: $0.adamId, pricingParam: $0.pricingParam) })
            let assets = try ledger.resolveAssets(tenant: tenant, keys)
            var resend: [PoolKey: [SerialNumber]] = [:]
            var giveBack: [PoolKey: [SerialNumber]] = [:]
            var recorded: [PoolKey: [SerialNumber]] = [:]
            // The licences recorded from Apple form one batch; no batch when there are none.
            let toRecord = drift.count { $0.kind == .unknownToLedger }
            let batch = toRecord > 0 ? try ledger.insertBatch(tenant: tenant, kind: BatchDirection.assign.rawValue, itemCount: toRecord, key: nil) : nil
            for item in drift {
                let key = try Ledger.storedAssetKey(adamId: item.adamId, pricingParam: item.pricingParam)
                guard let asset = assets[key], let serial = SerialNumber(item.serialNumber) else { repair.left += 1; continue }
                let pool = PoolKey(tokenId: token, assetId: asset.id)
                switch item.kind {
                case .missingAtApple:
                    try ledger.markPending(tenant: tenant, asset: asset.id, token: token, serial: serial.value)
                    resend[pool, default: []].append(serial)
                    repair.resent += 1
                case .unknownToLedger:
                    guard let batch else { preconditionFailure("a batch exists when a licence is to be recorded") }
                    let device = try ledger.deviceRegisteringIfUnknown(tenant: tenant, serial: serial.value)
                    if device.retired {
                        giveBack[pool, default: []].append(serial)
                        repair.givenBack += 1
                    } else if try ledger.insertConfirmedAssignment(tenant: tenant, asset: asset.id, device: device.id, token: token, batch: batch) {
                        // Confirmed at once: Apple listed it.
                        recorded[pool, default: []].append(serial)
                        repair.recorded += 1
                    } else {
                        // Invariant 2: a device holds an asset once per tenant; one held through
                        // another token stays as it is.
                        repair.left += 1
                    }
                }
            }
            for (pool, serials) in recorded { try ledger.countAsHere(pool, licences: serials.count) }
            // A recorded row is a batch like any other (invariants 4 and 5): its association goes
            // through the outbox too. Apple already holds it, and associating again is harmless.
            if let batch {
                try ledger.setChangedCount(batch: batch, repair.recorded)
                try ledger.enqueueForApple(tenant: tenant, batch: batch, kind: .associate, recorded)
            }
            // What Apple lacks, or should give back, changes no row here: no batch, like a
            // take-over's clean-up.
            try ledger.enqueueForApple(tenant: tenant, batch: nil, kind: .associate, resend)
            try ledger.enqueueForApple(tenant: tenant, batch: nil, kind: .disassociate, giveBack)
            try ledger.recordEvent(tenant: tenant, kind: .driftRepaired, token: token, detail: repair)
            return repair
        }
    }
}
