/// What happened to one item of a batch. A stable vocabulary: the raw values are published in
/// JSON and HTTP answers and keep their spelling.
public enum ItemResult: String, Sendable, Codable, CaseIterable, Hashable {
    case assigned
    case alreadyAssigned = "already_assigned"
    case noLicense = "no_license"
    case unknownDevice = "unknown_device"
    case unknownApp = "unknown_app"
    case notDeviceAssignable = "not_device_assignable"
    case revoked
    case notAssigned = "not_assigned"
    case invalidSerial = "invalid_serial"
    /// No licence was free and the caller asked to wait: the device is in the app's queue of
    /// unmet demand and gets a licence, in order, when one appears (issue 14).
    case queued
    /// A user batch: no user with this id is in the tenant's roster (or they are retired).
    case unknownUser = "unknown_user"
    /// A user batch: the user id is empty, too long, or holds control characters.
    case invalidUserId = "invalid_user_id"

    /// Whether the item ended as the caller wanted. `already_assigned` and `not_assigned` are
    /// successes: assign and revoke are idempotent, so repeating a batch is harmless.
    public var isSuccess: Bool {
        switch self {
        case .assigned, .alreadyAssigned, .revoked, .notAssigned: true
        // A queued device holds nothing yet: the batch did not give it the app.
        case .noLicense, .unknownDevice, .unknownApp, .notDeviceAssignable, .invalidSerial, .queued, .unknownUser, .invalidUserId: false
        }
    }
}

/// Which way a batch moves licences. One code path serves both (STYLE: no near-duplicates that
/// differ by a sign).
public enum BatchDirection: String, Sendable, Codable, Hashable {
    case assign
    case revoke

    /// The change of a pool's `assigned_here` for one item that takes effect.
    public var poolDelta: Int { self == .assign ? 1 : -1 }
}

/// How a batch commits.
public enum BatchMode: String, Sendable, Codable, Hashable, CaseIterable {
    /// The successful items commit; the failed ones are reported.
    case partial
    /// Nothing commits if any item fails.
    case allOrNothing = "all-or-nothing"
    /// Decide and report; write nothing.
    case dryRun = "dry-run"
}

/// One (asset, serial) pair of a batch. The serial is raw: the planner validates it.
public struct BatchItem: Sendable, Hashable, Codable {
    public let asset: AssetKey
    public let serial: String
    public init(asset: AssetKey, serial: String) {
        self.asset = asset
        self.serial = serial
    }
}

/// The result of one item, in the order of the batch.
public struct ItemOutcome: BatchItemOutcome {
    public let serialNumber: String
    public let adamId: String
    public let pricingParam: PricingParam
    public let result: ItemResult
    public let tokenId: TokenID?
    public let reason: String?

    public init(serialNumber: String, asset: AssetKey, result: ItemResult, tokenId: TokenID? = nil, reason: String? = nil) {
        self.serialNumber = serialNumber
        self.adamId = asset.adamId
        self.pricingParam = asset.pricingParam
        self.result = result
        self.tokenId = tokenId
        self.reason = reason
    }
}

/// One item's outcome in a batch's answer: a device's (`ItemOutcome`) or a person's
/// (`UserItemOutcome`).
public protocol BatchItemOutcome: Sendable, Hashable, Codable {
    var result: ItemResult { get }
}

/// The whole answer to a batch: one outcome per item, the counts per result. The same shape
/// for devices (`BatchOutcome`) and people (`UserBatchOutcome`).
public struct BatchOutcomeOf<Item: BatchItemOutcome>: Sendable, Hashable, Codable {
    /// Nil when nothing was committed (dry-run, or all-or-nothing with a failure).
    public let batchId: BatchID?
    public let direction: BatchDirection
    public let mode: BatchMode
    public let committed: Bool
    public let counts: [String: Int]
    public let items: [Item]

    public init(batchId: BatchID?, direction: BatchDirection, mode: BatchMode, committed: Bool, items: [Item]) {
        self.batchId = batchId
        self.direction = direction
        self.mode = mode
        self.committed = committed
        self.items = items
        var counts: [String: Int] = [:]
        for item in items { counts[item.result.rawValue, default: 0] += 1 }
        self.counts = counts
    }

    public var failedCount: Int { items.count { !$0.result.isSuccess } }
}

/// A device batch's answer.
public typealias BatchOutcome = BatchOutcomeOf<ItemOutcome>

/// Bounds on batches: every loop over a caller's input has one.
public enum BatchLimits {
    /// Items in one assign or revoke batch. Ten times Apple's 1,000 serials per call.
    public static let itemsMax = 100_000
    /// Length of an idempotency key.
    public static let idempotencyKeyLengthMax = 200
}
