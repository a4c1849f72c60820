/// A device as the planner needs it.
public struct DeviceRef: Sendable, Hashable {
    public let id: DeviceID
    public let retired: Bool
    public init(id: DeviceID, retired: Bool) {
        self.id = id
        self.retired = retired
    }
}

/// An asset of the tenant as the planner needs it.
public struct AssetRef: Sendable, Hashable {
    public let id: AssetID
    public let deviceAssignable: Bool
    public init(id: AssetID, deviceAssignable: Bool) {
        self.id = id
        self.deviceAssignable = deviceAssignable
    }
}

/// One token's pool of one asset: the unit of counters and of Apple operations.
public struct PoolKey: Sendable, Hashable, Comparable {
    public let tokenId: TokenID
    public let assetId: AssetID
    public init(tokenId: TokenID, assetId: AssetID) {
        self.tokenId = tokenId
        self.assetId = assetId
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.tokenId, lhs.assetId) < (rhs.tokenId, rhs.assetId) }
}

/// Where the planner reads devices and writes assignment rows. SQLite implements it on the hot
/// path; an in-memory model implements it for the planning benchmark and the property test.
/// The planner decides; the ledger only stores.
public protocol AssignmentLedger {
    /// The device with this serial in the batch's tenant, or nil.
    mutating func device(serial: SerialNumber) throws -> DeviceRef?
    /// Inserts the assignment unless the device already holds the asset; true when inserted.
    mutating func insertAssignment(asset: AssetID, device: DeviceID, token: TokenID) throws -> Bool
    /// Whether the device holds the asset (from any token).
    mutating func holds(asset: AssetID, device: DeviceID) throws -> Bool
    /// Deletes the assignment; the token it drew on, or nil when there was none.
    mutating func deleteAssignment(asset: AssetID, device: DeviceID) throws -> TokenID?
}

/// What a batch does: the outcome of each item, and the effects to commit with it.
public struct BatchPlan: Sendable {
    public var outcomes: [ItemOutcome] = []
    /// The change of `assigned_here` per pool: one counter update per pool per batch.
    public var poolDeltas: [PoolKey: Int] = [:]
    /// The serials to send to Apple per pool, in batch order.
    public var appleSerials: [PoolKey: [SerialNumber]] = [:]
    /// Assignment rows inserted (assign) or deleted (revoke).
    public var changedCount = 0

    public var failedCount: Int { outcomes.count { !$0.result.isSuccess } }
}

/// Decides every item of a batch, in order, with a flat ladder of precedence:
/// invalid_serial, unknown_app, not_device_assignable (assign only), unknown_device, then
/// the ledger's answer (assigned / already_assigned / no_license, or revoked / not_assigned).
public struct BatchPlanner {
    public let direction: BatchDirection
    public let policy: AllocationPolicy
    private let assets: [AssetKey: AssetRef]
    /// The usable tokens' pools of each asset, with the licences still free: one slot per
    /// asset, found through `slots`, so that spending a licence updates the array in place.
    private var pools: [[PoolCandidate]]
    private let slots: [AssetID: Int]
    /// The last asset looked up, with its slot: the items of a batch mostly share one app, and
    /// comparing its key is cheaper than hashing it for every item.
    private var lastAsset: (key: AssetKey, asset: AssetRef?, slot: Int?)?

    public init(direction: BatchDirection, policy: AllocationPolicy,
                assets: [AssetKey: AssetRef], candidates: [AssetID: [PoolCandidate]]) {
        self.direction = direction
        self.policy = policy
        self.assets = assets
        var pools: [[PoolCandidate]] = []
        var slots: [AssetID: Int] = [:]
        pools.reserveCapacity(candidates.count)
        for (asset, pool) in candidates {
            slots[asset] = pools.count
            pools.append(pool)
        }
        self.pools = pools
        self.slots = slots
    }

    public mutating func plan(_ items: [BatchItem], ledger: inout some AssignmentLedger) throws -> BatchPlan {
        var plan = BatchPlan()
        plan.outcomes.reserveCapacity(items.count)
        var effects = PoolEffects()
        for item in items {
            plan.outcomes.append(try decide(item, ledger: &ledger, effects: &effects))
        }
        effects.write(to: &plan)
        return plan
    }

    /// The asset of an item and its slot of pools, through the one-entry cache.
    @inline(__always)
    private mutating func lookUp(_ key: AssetKey) -> (asset: AssetRef?, slot: Int?) {
        if let last = lastAsset, last.key == key { return (last.asset, last.slot) }
        let asset = assets[key]
        let slot = asset.flatMap { slots[$0.id] }
        lastAsset = (key, asset, slot)
        return (asset, slot)
    }

    private mutating func decide(_ item: BatchItem, ledger: inout some AssignmentLedger, effects: inout PoolEffects) throws -> ItemOutcome {
        guard let serial = SerialNumber(item.serial) else {
            return ItemOutcome(serialNumber: item.serial, asset: item.asset, result: .invalidSerial,
                               reason: SerialNumber.problem(with: item.serial))
        }
        let (found, slot) = lookUp(item.asset)
        guard let asset = found else {
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .unknownApp,
                               reason: "app \(item.asset) is in none of this tenant's tokens")
        }
        if direction == .assign && !asset.deviceAssignable {
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .notDeviceAssignable,
                               reason: "app \(item.asset) cannot be assigned to a device (Apple: not device-assignable)")
        }
        guard let device = try ledger.device(serial: serial) else {
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .unknownDevice,
                               reason: "no device with serial \(serial) is registered; import it first")
        }
        if device.retired {
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .unknownDevice,
                               reason: "device \(serial) is retired; import it again to manage it")
        }
        switch direction {
        case .assign:
            return try assign(serial, item: item, asset: asset.id, slot: slot, device: device.id, ledger: &ledger, effects: &effects)
        case .revoke:
            guard let token = try ledger.deleteAssignment(asset: asset.id, device: device.id) else {
                return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .notAssigned)
            }
            effects.record(PoolKey(tokenId: token, assetId: asset.id), serial: serial, delta: direction.poolDelta)
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .revoked, tokenId: token)
        }
    }

    private mutating func assign(
        _ serial: SerialNumber, item: BatchItem, asset: AssetID, slot: Int?, device: DeviceID,
        ledger: inout some AssignmentLedger, effects: inout PoolEffects
    ) throws -> ItemOutcome {
        guard let slot, let index = policy.choose(from: pools[slot]) else {
            if try ledger.holds(asset: asset, device: device) {
                return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .alreadyAssigned)
            }
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .noLicense,
                               reason: "no usable token has a free licence of this app")
        }
        let token = pools[slot][index].tokenId
        // The insert tells whether the device already held the asset: no licence is spent then.
        guard try ledger.insertAssignment(asset: asset, device: device, token: token) else {
            return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .alreadyAssigned)
        }
        pools[slot][index].available -= 1
        precondition(pools[slot][index].available >= 0, "a pool went below zero free licences")
        effects.record(PoolKey(tokenId: token, assetId: asset), serial: serial, delta: direction.poolDelta)
        return ItemOutcome(serialNumber: serial.value, asset: item.asset, result: .assigned, tokenId: token)
    }
}

/// What a batch does to each pool, gathered per pool while the items are decided and written
/// to the plan's dictionaries once per pool at the end (not once per item): the counter change
/// and the serials for Apple, in batch order.
private struct PoolEffects {
    var pools: [(key: PoolKey, delta: Int, serials: [SerialNumber])] = []
    var index: [PoolKey: Int] = [:]
    var last: Int?
    var changed = 0

    @inline(__always)
    mutating func record(_ pool: PoolKey, serial: SerialNumber, delta: Int) {
        let slot: Int
        if let last, pools[last].key == pool {
            slot = last
        } else if let found = index[pool] {
            slot = found
        } else {
            slot = pools.count
            index[pool] = slot
            pools.append((pool, 0, []))
        }
        last = slot
        pools[slot].delta += delta
        pools[slot].serials.append(serial)
        changed += 1
    }

    mutating func write(to plan: inout BatchPlan) {
        for pool in pools {
            plan.poolDeltas[pool.key, default: 0] += pool.delta
            plan.appleSerials[pool.key, default: []].append(contentsOf: pool.serials)
        }
        plan.changedCount += changed
        pools = []
    }
}
