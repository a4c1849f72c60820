import AllotCore
import AllotStore

extension Workflows {
    /// Serves the queue of one app, or of every app with devices waiting when `asset` is nil,
    /// in one write: the devices at the head get the licences that are free, in order, through
    /// an ordinary assign batch each (outbox and events as any batch).
    public func serveQueues(tenant: Tenant, asset: AssetKey?) throws -> [QueueServing] {
        try ledger.write(tenant: tenant.id) {
            let assets = try asset.map { [$0] } ?? Array(Set(try ledger.assetsWithDemand(tenant: tenant.id) + ledger.assetsWithUserDemand(tenant: tenant.id)))
                .sorted { $0.description < $1.description }
            return try assets.compactMap { try serving(tenant: tenant, asset: $0) }
        }
    }

    /// Serves one app's queue in a write of its own; nil when nothing waits or no licence is free.
    public func serveQueue(tenant: Tenant, asset: AssetKey) throws -> QueueServing? {
        try serveQueues(tenant: tenant, asset: asset).first
    }

    /// One serving, inside the caller's write: as many devices from the head as there are free
    /// licences (`DemandQueue.servingSize`) go through an assign batch; those that got the app
    /// (or had it) leave the queue, with one `queue_served` event.
    /// Devices first, then users waiting for the app (`servingUsers`) with what is left.
    func serving(tenant: Tenant, asset key: AssetKey) throws -> QueueServing? {
        let devices = try servingDevices(tenant: tenant, asset: key)
        _ = try servingUsers(tenant: tenant, asset: key)
        return devices
    }

    private func servingDevices(tenant: Tenant, asset key: AssetKey) throws -> QueueServing? {
        guard let asset = try ledger.resolveAssets(tenant: tenant.id, [key])[key] else { return nil }
        let waiting = try ledger.waitingCount(tenant: tenant.id, asset: asset.id)
        guard waiting > 0 else { return nil }
        let free = try ledger.poolCandidates(tenant: tenant.id, assets: [asset.id])[asset.id, default: []].reduce(0) { $0 + $1.available }
        let size = DemandQueue.servingSize(free: free, waiting: waiting)
        guard size > 0 else { return nil }
        let head = try ledger.queueHead(tenant: tenant.id, asset: asset.id, limit: size)
        let batch = try ledger.insertBatch(tenant: tenant.id, kind: BatchDirection.assign.rawValue, itemCount: head.count, key: nil)
        let plan = try planAndApply(tenant: tenant, direction: .assign, items: head.map { BatchItem(asset: key, serial: $0.serial) },
                                    batch: batch, queue: false)
        var left = waiting
        for (entry, outcome) in zip(head, plan.outcomes) where DemandQueue.leavesQueue(after: outcome.result) {
            try ledger.deleteQueueEntry(entry.entry)
            left -= 1
        }
        let outcome = BatchOutcome(batchId: batch, direction: .assign, mode: .partial, committed: true, items: plan.outcomes)
        try ledger.recordBatchEvent(tenant: tenant.id, direction: .assign, batch: batch, items: head.count, counts: outcome.counts)
        let served = outcome.counts[ItemResult.assigned.rawValue] ?? 0
        try ledger.recordQueueServed(tenant: tenant.id, asset: key, batch: batch, served: served, left: left)
        return QueueServing(asset: key, outcome: outcome, served: served, left: left)
    }
}
