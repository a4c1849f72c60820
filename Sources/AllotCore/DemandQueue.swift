/// The queue of unmet demand (issue 14): devices that asked for an app when no usable token had
/// a free licence, waiting first in, first out per (tenant, app). These are its rules; the
/// ledger stores the entries and the engine serves them when licences appear.
public enum DemandQueue {
    /// Devices waiting in one tenant's queues, over all its apps. Ten times a large school
    /// district's shortfall; past it a batch that would queue more is refused whole.
    public static let entriesPerTenantMax = 100_000

    public static let queuedReason = "no usable token has a free licence of this app; the device waits in the queue and gets one, in order, when licences appear"

    /// An assign batch that asked to queue: each `no_license` item becomes `queued`; nothing
    /// else changes. Returns the new outcomes and the positions (in the batch) of those queued.
    public static func queueing(_ outcomes: [ItemOutcome]) -> (outcomes: [ItemOutcome], queued: [Int]) {
        var result = outcomes
        var queued: [Int] = []
        for (index, outcome) in outcomes.enumerated() where outcome.result == .noLicense {
            result[index] = ItemOutcome(serialNumber: outcome.serialNumber,
                                        asset: AssetKey(adamId: outcome.adamId, pricingParam: outcome.pricingParam),
                                        result: .queued, reason: queuedReason)
            queued.append(index)
        }
        return (result, queued)
    }

    /// How many waiting devices one serving takes from the head of the queue: no more than the
    /// free licences (so every one taken is served, in order), nor than a batch holds.
    public static func servingSize(free: Int, waiting: Int) -> Int {
        precondition(free >= 0, "free licences are never negative")
        precondition(waiting >= 0, "a queue never holds a negative number of devices")
        return min(free, waiting, BatchLimits.itemsMax)
    }

    /// Whether a waiting device leaves the queue after the serving batch answered `result` for
    /// it: it got the app, already had it, or can never get it (retired, forgotten). Only a
    /// device still short of a licence (`no_license`) keeps its place.
    public static func leavesQueue(after result: ItemResult) -> Bool {
        switch result {
        case .assigned, .alreadyAssigned, .unknownDevice, .invalidSerial, .unknownUser, .invalidUserId: true
        case .noLicense, .queued, .unknownApp, .notDeviceAssignable, .revoked, .notAssigned: false
        }
    }

    /// The refusal when a tenant's queues would hold more than `entriesPerTenantMax`; nil within it.
    public static func refusal(waiting: Int) -> String? {
        guard waiting > entriesPerTenantMax else { return nil }
        return "queueing these devices would make \(waiting) devices wait in this tenant's queues, more than the \(entriesPerTenantMax) allowed; buy licences, or take waiting devices out of the queue, then try again; this batch was not committed"
    }
}

extension DemandQueue {
    /// A revoke item for a device that held nothing but was waiting in the app's queue: it
    /// left the queue, and its answer says so.
    public static func leftQueue(_ outcome: ItemOutcome) -> ItemOutcome {
        guard outcome.result == .notAssigned else { return outcome }
        return ItemOutcome(serialNumber: outcome.serialNumber, asset: AssetKey(adamId: outcome.adamId, pricingParam: outcome.pricingParam),
                           result: .notAssigned, reason: "the device held no licence of this app; it was waiting in the queue and has left it")
    }
}
