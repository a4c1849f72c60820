/// What one round of a token's delivery lane takes from its window (DESIGN.md, "Lanes"): the
/// operations free to go (`DeliveryOrder`), due now, and held by no live lease, oldest first,
/// at most `operationsMax`. The lane claims them in one ledger statement and calls Apple for
/// them side by side, paced to the token's rate: Apple's limit is calls per second, not one
/// call at a time, so a token with a backlog keeps several calls in flight.
public enum LaneRound {
    /// A lane claims at most this many operations a round: two seconds of calls at Apple's
    /// example rate (15 a second), well inside a lease (`EngineSettings.leaseSeconds`), so an
    /// operation never waits for its pace slot longer than its claim lasts.
    public static let operationsMax = 30

    /// One unfinished operation of the window, as the round sees it.
    public struct Candidate: Sendable, Hashable {
        public let footprint: DeliveryOrder.Footprint
        public let state: OutboxState
        public let nextAttemptAt: Int64
        /// Until when a worker holds it, if one does.
        public let leaseExpiresAt: Int64?

        public init(footprint: DeliveryOrder.Footprint, state: OutboxState, nextAttemptAt: Int64, leaseExpiresAt: Int64?) {
            self.footprint = footprint
            self.state = state
            self.nextAttemptAt = nextAttemptAt
            self.leaseExpiresAt = leaseExpiresAt
        }

        /// Apple's step for it is due: a send or a poll whose time has come, nobody holding it.
        func isReady(now: Int64) -> Bool {
            (state == .pending || state == .sent) && nextAttemptAt <= now && (leaseExpiresAt ?? .min) <= now
        }
    }

    /// The ids to take this round, in window (commit) order.
    public static func take(_ window: [Candidate], now: Int64, operationsMax: Int = LaneRound.operationsMax) -> [Int64] {
        precondition(operationsMax > 0, "a round takes at least one operation")
        // Most rounds of a busy fleet find nothing ready (polls wait out their interval):
        // those skip the order rule's hashing.
        guard window.contains(where: { $0.isReady(now: now) }) else { return [] }
        let free = DeliveryOrder.free(window.map(\.footprint))
        var taken: [Int64] = []
        for candidate in window where taken.count < operationsMax {
            if candidate.isReady(now: now) && free.contains(candidate.footprint.id) { taken.append(candidate.footprint.id) }
        }
        return taken
    }
}
