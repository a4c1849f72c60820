import Allot
import AllotCore

/// What happened to a committed batch's Apple operations: pushed now, or left in the outbox.
struct BatchDelivery: Encodable {
    /// Whether the outbox was pushed to Apple after the commit.
    let pushed: Bool
    /// For people: what happened to the Apple side, or what to run next.
    let note: String?

    enum CodingKeys: String, CodingKey { case pushed }

    static func afterCommit(_ outcome: BatchOutcome, allot: Allot, tenant: String, push: Bool, global: GlobalOptions) async throws -> BatchDelivery {
        let changed = (outcome.counts[ItemResult.assigned.rawValue] ?? 0) + (outcome.counts[ItemResult.revoked.rawValue] ?? 0)
        guard outcome.committed, changed > 0 else { return BatchDelivery(pushed: false, note: nil) }
        return BatchDelivery(pushed: false, note: "Apple is told through the outbox; `allot push --tenant \(tenant)` delivers it now.")
    }
}
