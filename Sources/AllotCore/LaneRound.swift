/// What one round of a token's delivery lane takes from its window (DESIGN.md, "Lanes"): the
/// operations free to go (`DeliveryOrder`), due now, held by no live lease, and, for an
/// associate, with room for it at Apple (`DeliveryCapacity`), oldest first, at most
/// `operationsMax`. The lane claims them in one ledger statement and calls Apple for
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
        /// Sends and failed polls so far: a pending operation sent before may have been applied.
        public let attempts: Int

        public init(footprint: DeliveryOrder.Footprint, state: OutboxState, nextAttemptAt: Int64, leaseExpiresAt: Int64?, attempts: Int = 0) {
            self.footprint = footprint
            self.state = state
            self.nextAttemptAt = nextAttemptAt
            self.leaseExpiresAt = leaseExpiresAt
            self.attempts = attempts
        }

        /// Apple's step for it is due: a send or a poll whose time has come, nobody holding it.
        public func isReady(now: Int64) -> Bool {
            state.meetsApple && nextAttemptAt <= now && (leaseExpiresAt ?? .min) <= now
        }

        /// Whether Apple may hold what it carries without another send (`DeliveryCapacity`):
        /// sent, sent before, or being sent by a worker whose lease is live.
        func mayHaveReachedApple(now: Int64) -> Bool {
            state == .sent || attempts > 0 || (state == .pending && (leaseExpiresAt ?? .min) > now)
        }

        /// An associate about to be sent for the first time: the one kind that needs room at Apple.
        func needsRoom(now: Int64) -> Bool {
            footprint.kind == .associate && state == .pending && !mayHaveReachedApple(now: now)
        }
    }

    /// The assets whose pools a round must know (`take`'s `pools`): those of associates that
    /// are due and would be sent for the first time. Most rounds have none.
    public static func assetsNeedingRoom(_ window: [Candidate], now: Int64) -> Set<AssetKey> {
        Set(window.lazy.filter { $0.isReady(now: now) && $0.needsRoom(now: now) }.map(\.footprint.asset))
    }

    /// The token's unfinished operations as `DeliveryCapacity` counts them.
    public static func unfinished(_ window: [Candidate], now: Int64) -> [DeliveryCapacity.Unfinished] {
        window.map { DeliveryCapacity.Unfinished(footprint: $0.footprint, mayHaveReachedApple: $0.mayHaveReachedApple(now: now)) }
    }

    /// When something of a window that a round took nothing from may become due (seconds, as
    /// `now`): the earliest next attempt or lease end of its operations that meet Apple, or
    /// `now` when the window was full (what lies past it is unknown). Nil: nothing to wait for.
    /// A due time that has passed means the operation waits on something else (an earlier one
    /// on its serials, room at Apple): the caller asks again later, not at once.
    public static func nextDueAt(_ window: [Candidate], windowFull: Bool, now: Int64) -> Int64? {
        let due = window.lazy.filter(\.state.meetsApple).map { max($0.nextAttemptAt, $0.leaseExpiresAt ?? .min) }.min()
        guard windowFull else { return due }
        return min(due ?? now, now)
    }

    /// The ids to take this round, in window (commit) order. `pools`: the token's pools of
    /// `assetsNeedingRoom` that may be short of room; an asset left out is not limited.
    public static func take(_ window: [Candidate], now: Int64, operationsMax: Int = LaneRound.operationsMax,
                            pools: [AssetKey: DeliveryCapacity.Pool] = [:]) -> [Int64] {
        precondition(operationsMax > 0, "a round takes at least one operation")
        // Most rounds of a busy fleet find nothing ready (polls wait out their interval):
        // those skip the order rule's hashing.
        guard window.contains(where: { $0.isReady(now: now) }) else { return [] }
        let free = DeliveryOrder.free(window.map(\.footprint))
        var room = pools.isEmpty ? nil : DeliveryCapacity.Room(unfinished: unfinished(window, now: now), pools: pools)
        var taken: [Int64] = []
        for candidate in window where taken.count < operationsMax {
            guard candidate.isReady(now: now) && free.contains(candidate.footprint.id) else { continue }
            if candidate.needsRoom(now: now), room?.admit(candidate.footprint) == .waitsForGiveBacks { continue }
            taken.append(candidate.footprint.id)
        }
        return taken
    }
}
