import AllotCore
import AllotStore

extension Allot {
    // MARK: The queue of unmet demand (issue 14 point 1)

    /// Serves the queue of one app, or of every app with devices waiting when `asset` is nil:
    /// the devices at the head get the licences that are free, in order, through an ordinary
    /// assign batch each (outbox and events as any batch). Called wherever licences may have
    /// appeared: a revocation, a retirement, a sync (a raised total, a new, renewed or taken-over
    /// token) and Apple's `ASSET_COUNT` notification. Apple is told by the next push.
    @discardableResult
    public func serveQueue(tenant slug: String, asset: AssetKey? = nil) throws -> [QueueServing] {
        try serveQueue(tenant: try tenant(slug), asset: asset)
    }

    @discardableResult
    func serveQueue(tenant: Tenant, asset: AssetKey?) throws -> [QueueServing] {
        try workflows.serveQueues(tenant: tenant, asset: asset)
    }

    /// The devices waiting, app by app, with their places.
    public func queue(tenant slug: String, asset: AssetKey? = nil) throws -> [QueueEntry] {
        try ledger.queue(tenant: try tenant(slug).id, asset: asset)
    }

    /// The people waiting, app by app, with their places among the people waiting for each.
    public func userQueue(tenant slug: String, asset: AssetKey? = nil) throws -> [UserQueueEntry] {
        try ledger.userQueue(tenant: try tenant(slug).id, asset: asset)
    }

    /// Takes devices out of an app's queue.
    public func cancelQueued(tenant slug: String, asset: AssetKey, serials: [String]) throws -> QueueCancellation {
        try ledger.cancelQueued(tenant: try tenant(slug).id, asset: asset, serials: serials)
    }
}
