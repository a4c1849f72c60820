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
    /// The usable tokens' pools of each asset, with the licences still free.
    private var candidates: [AssetID: [PoolCandidate]]

    public init(direction: BatchDirection, policy: AllocationPolicy,
                assets: [AssetKey: AssetRef], candidates: [AssetID: [PoolCandidate]]) {
        self.direction = direction
        self.policy = policy
        self.assets = assets
        self.candidates = candidates
    }

    public mutating func plan(_ items: [BatchItem], ledger: inout some AssignmentLedger) throws -> BatchPlan {
        var plan = BatchPlan()
        plan.outcomes.reserveCapacity(items.count)
        for item in items {
            plan.outcomes.append(try decide(item, ledger: &ledger, plan: &plan))
        }
        return plan
    }

    private mutating func decide(_ item: BatchItem, ledger: inout some AssignmentLedger, plan: inout BatchPlan) throws -> ItemOutcome {
        guard let serial = SerialNumber(item.serial) else {
            return ItemOutcome(serialNumber: item.serial, asset: item.asset, result: .invalidSerial,
                               reason: SerialNumber.problem(with: item.serial))
        }
        func outcome(_ result: ItemResult, token: TokenID? = nil, reason: String? = nil) -> ItemOutcome {
            ItemOutcome(serialNumber: serial.value, asset: item.asset, result: result, tokenId: token, reason: reason)
        }
        guard let asset = assets[item.asset] else {
            return outcome(.unknownApp, reason: "app \(item.asset) is in none of this tenant's tokens")
        }
        if direction == .assign && !asset.deviceAssignable {
            return outcome(.notDeviceAssignable, reason: "app \(item.asset) cannot be assigned to a device (Apple: not device-assignable)")
        }
        guard let device = try ledger.device(serial: serial) else {
            return outcome(.unknownDevice, reason: "no device with serial \(serial) is registered; import it first")
        }
        if device.retired {
            return outcome(.unknownDevice, reason: "device \(serial) is retired; import it again to manage it")
        }
        switch direction {
        case .assign:
            return try assign(serial, asset: asset.id, device: device.id, ledger: &ledger, plan: &plan, outcome: outcome)
        case .revoke:
            guard let token = try ledger.deleteAssignment(asset: asset.id, device: device.id) else {
                return outcome(.notAssigned)
            }
            record(PoolKey(tokenId: token, assetId: asset.id), serial: serial, plan: &plan)
            return outcome(.revoked, token: token)
        }
    }

    private mutating func assign(
        _ serial: SerialNumber, asset: AssetID, device: DeviceID,
        ledger: inout some AssignmentLedger, plan: inout BatchPlan,
        outcome: (ItemResult, TokenID?, String?) -> ItemOutcome
    ) throws -> ItemOutcome {
        guard let index = candidates[asset].flatMap(policy.choose(from:)) else {
            if try ledger.holds(asset: asset, device: device) { return outcome(.alreadyAssigned, nil, nil) }
            return outcome(.noLicense, nil, "no usable token has a free licence of this app")
        }
        let token = candidates[asset]![index].tokenId
        // The insert tells whether the device already held the asset: no licence is spent then.
        guard try ledger.insertAssignment(asset: asset, device: device, token: token) else {
            return outcome(.alreadyAssigned, nil, nil)
        }
        candidates[asset]![index].available -= 1
        precondition(candidates[asset]![index].available >= 0, "a pool went below zero free licences")
        record(PoolKey(tokenId: token, assetId: asset), serial: serial, plan: &plan)
        return outcome(.assigned, token, nil)
    }

    private func record(_ pool: PoolKey, serial: SerialNumber, plan: inout BatchPlan) {
        plan.poolDeltas[pool, default: 0] += direction.poolDelta
        plan.appleSerials[pool, default: []].append(serial)
        plan.changedCount += 1
    }
}
