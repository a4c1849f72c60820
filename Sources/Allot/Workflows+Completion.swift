import AllotCore
import AllotStore

extension Workflows {
    /// Apple finished an operation. The associations it made become confirmed; the serials in
    /// `refusedSerials` (Apple never granted them) are released, in one write with the tenant's
    /// batches (releasing moves a pool counter). With `requeue` (Apple was short of licences)
    /// the released devices join the app's queue of unmet demand, so a device answered
    /// `assigned` is never dropped without a trace. Returns the serials released; nothing when
    /// the lease went to another worker meanwhile.
    @discardableResult
    public func completeOperation(_ operation: OutboxOperation, owner: String, refusedSerials: Set<String>, refusal: String?,
                                  requeue: Bool = false) throws -> [String] {
        try ledger.write(tenant: operation.tenantId) {
            if operation.subject == .users {
                guard try ledger.markDone(operation, owner: owner, refusal: refusal) else { return [] }
                let asset = try ledger.resolveAssets(tenant: operation.tenantId, [operation.asset])[operation.asset]
                let released = try ledger.completeUserOperation(operation, refused: refusedSerials, asset: asset?.id)
                guard !released.isEmpty else { return [] }
                // As for devices: people answered `assigned` whom Apple refused for want of
                // licences wait in the app's queue rather than silently holding nothing.
                if requeue, let asset {
                    for id in released { try ledger.requeueUser(tenant: operation.tenantId, asset: asset.id, clientUserId: id) }
                }
                try ledger.recordRelease(of: operation, serials: released, reason: refusal ?? "refused by Apple", requeued: requeue)
                return released
            }
            guard try ledger.markDone(operation, owner: owner, refusal: refusal), operation.kind == .associate else { return [] }
            guard let asset = try ledger.resolveAssets(tenant: operation.tenantId, [operation.asset])[operation.asset] else {
                // The asset was dropped with its last token (token remove): nothing left to confirm.
                return []
            }
            let confirmed = refusedSerials.isEmpty ? operation.serials : operation.serials.filter { !refusedSerials.contains($0) }
            try ledger.confirmAssignments(of: operation, asset: asset.id, serials: confirmed)
            // Refusals are rare and few: one row each, to know which rows went.
            var released: [String] = []
            for serial in operation.serials where refusedSerials.contains(serial) {
                if try ledger.releaseAssignment(of: operation, asset: asset.id, serial: serial) { released.append(serial) }
            }
            guard !released.isEmpty else { return [] }
            try ledger.lowerAssignedHere(token: operation.tokenId, asset: asset.id, by: released.count)
            if requeue {
                for serial in released { try ledger.requeue(tenant: operation.tenantId, asset: asset.id, serial: serial) }
            }
            try ledger.recordRelease(of: operation, serials: released, reason: refusal ?? "refused by Apple", requeued: requeue)
            return released
        }
    }
}
