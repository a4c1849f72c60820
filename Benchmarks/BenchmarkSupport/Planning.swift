import AllotCore

/// Planning only, no I/O: the batch planner over the in-memory ledger, with the realistic
/// tenant's devices and pools. Each call plans a new batch of (app, devices) pairs, so every
/// item is a real assignment decision.
public struct PlanningWorkload {
    public let shape: Shape
    public var ledger: InMemoryAssignmentLedger
    let assets: [AssetKey: AssetRef]
    let candidates: [AssetID: [PoolCandidate]]
    let keys: [AssetKey]
    public var cursor: BatchCursor

    public init(shape: Shape, batchSize: Int) {
        self.shape = shape
        var devices: [SerialNumber: DeviceRef] = [:]
        devices.reserveCapacity(shape.devices)
        for index in 0..<shape.devices {
            devices[SerialNumber(Workload.serial(index))!] = DeviceRef(id: DeviceID(Int64(index + 1)), retired: false)
        }
        ledger = InMemoryAssignmentLedger(devices: devices)
        keys = (0..<shape.apps).map(Workload.asset)
        var assets: [AssetKey: AssetRef] = [:]
        var candidates: [AssetID: [PoolCandidate]] = [:]
        for (index, key) in keys.enumerated() {
            let id = AssetID(Int64(index + 1))
            assets[key] = AssetRef(id: id, deviceAssignable: true)
            candidates[id] = (0..<shape.tokens).map {
                PoolCandidate(tokenId: TokenID(Int64($0 + 1)), available: shape.licencesPerPool, expiresAt: Workload.expiry, priority: 0)
            }
        }
        self.assets = assets
        self.candidates = candidates
        cursor = BatchCursor(shape: shape, size: batchSize)
    }

    public mutating func nextItems() -> [BatchItem] {
        let (app, first) = cursor.take()
        return (first..<first + cursor.size).map { BatchItem(asset: keys[app], serial: Workload.serial($0)) }
    }

    /// Plans one batch; the number of items assigned.
    public mutating func plan(_ items: [BatchItem]) throws -> Int {
        var planner = BatchPlanner(direction: .assign, policy: .mostAvailable, assets: assets, candidates: candidates)
        let plan = try planner.plan(items, ledger: &ledger)
        return plan.changedCount
    }
}
