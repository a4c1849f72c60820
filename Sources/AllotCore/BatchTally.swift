/// The running sum of a roll-out done in chunks (an assign or revoke over a group, every device,
/// or a long roster): counts summed over the chunks, and the items kept for the answer within a
/// bound, so a tenant of a million devices never holds a million outcomes in memory.
public struct BatchTally: Sendable, Hashable {
    /// Items kept for the answer. A selection of at most this many lists every item, as a single
    /// batch does; a larger one lists its failed items only, at most this many.
    public static let itemsListedMax = BatchLimits.itemsMax

    /// Items the selection holds (known before the first chunk runs).
    public let total: Int
    public private(set) var counts: [String: Int] = [:]
    public private(set) var items: [ItemOutcome] = []
    /// Items decided but not kept in `items` (successes of a large roll-out, failures past the bound).
    public private(set) var itemsOmitted = 0
    /// Items decided so far.
    public private(set) var decided = 0
    public private(set) var failed = 0

    public init(total: Int) {
        precondition(total >= 0, "a selection cannot hold a negative number of items")
        self.total = total
    }

    /// Whether every item is listed, or only the failed ones.
    public var listsEveryItem: Bool { total <= Self.itemsListedMax }

    public mutating func add(_ outcomes: [ItemOutcome]) {
        for item in outcomes {
            counts[item.result.rawValue, default: 0] += 1
            let success = item.result.isSuccess
            if !success { failed += 1 }
            if items.count < Self.itemsListedMax && (listsEveryItem || !success) {
                items.append(item)
            } else {
                itemsOmitted += 1
            }
        }
        // Devices imported while a roll-out runs may make `decided` pass `total`: the count is
        // the estimate for the progress line, not a bound.
        decided += outcomes.count
    }

    /// Items changed (assigned or revoked): what Apple must be told.
    public var changed: Int { (counts[ItemResult.assigned.rawValue] ?? 0) + (counts[ItemResult.revoked.rawValue] ?? 0) }
}

extension BatchDirection {
    /// The results an item of this direction can get, in the planner's order of precedence
    /// (BatchPlanner's ladder): what `--help` and the documentation list.
    public var possibleResults: [ItemResult] {
        switch self {
        case .assign: [.invalidSerial, .unknownApp, .notDeviceAssignable, .unknownDevice, .alreadyAssigned, .noLicense, .queued, .assigned]
        case .revoke: [.invalidSerial, .unknownApp, .unknownDevice, .notAssigned, .revoked]
        }
    }
}
