/// Which token's delivery lane acts next (DESIGN.md, "Lanes"), as a pure state machine: the
/// tokens with due work, each token's pace, Apple's holds and the bound on calls in flight give
/// the next action. The engine performs it (a claim in the ledger, or one Apple call) and tells
/// the machine what came of it; nothing here does I/O or reads a clock (time is a parameter, in
/// nanoseconds of a monotonic clock), so the schedule is tested with a simulated clock and a
/// simulated Apple (`LaneSchedulerTests`).
///
/// The rule: a lane lives while its token has due work, claims a round when its claimed
/// operations run out, and makes one call at a time when its pace allows; when several lanes
/// could call, the one served least recently calls first. A call slot that frees goes to the
/// lane that waited longest, so one token's backlog delays another token's new work by at most
/// one Apple round trip (a slot freeing) plus that token's own pacing, whatever the backlog.
/// A batch of lanes that waited for each other's ends (the old `push`) made a one-device
/// assign wait behind a 300,000-device roll-out for tens of seconds.
public struct LaneScheduler: Sendable {
    /// What the engine does next.
    public enum Action: Sendable, Hashable {
        /// Read the token's window and claim its next round (`LaneRound`); answer `claimed`.
        case claim(TokenID)
        /// Make one Apple call for the token's next claimed operation now; answer
        /// `callFinished` (and `held` first, when Apple said wait).
        case call(TokenID)
        /// Nothing to do before `until` (nil: before the machine is told something: work
        /// appeared, a call finished). The engine also wakes when told.
        case sleep(until: Int64?)
    }

    /// How much wider than `1 s / maxRequestPerSecond` calls of one token are spaced. Apple
    /// counts calls as they arrive, and arrivals jitter (a busy machine, a slow connection): at
    /// exactly the limit, one call arriving late let the next ones into its one-second window
    /// and Apple (and the simulator, which enforces the limit by default) answered 9646. At 2%
    /// a late call has 20 ms a second to spare, for 2% of a saturated lane's speed.
    public static let paceMarginPercent: Int64 = 2

    /// The time between two calls of one token allowed `perSecond` calls a second by Apple.
    public static func spacingNanoseconds(perSecond: Int) -> Int64 {
        1_000_000_000 * (100 + paceMarginPercent) / 100 / Int64(max(1, perSecond))
    }

    /// Where a lane is in its loop of claims and calls.
    enum Phase: Sendable, Hashable {
        /// Work is due from `at`: claim a round then.
        case due(at: Int64)
        /// A claim was asked and not answered; `moreDueAt`: work that appeared meanwhile (the
        /// claim may have read the window before its commit).
        case claiming(moreDueAt: Int64?)
        /// Claimed operations wait for their calls.
        case calling(queued: Int)
        /// Nothing claimable while its calls are in flight: an answer may free an operation
        /// that waited on the same serials (`DeliveryOrder`), so it claims again after each.
        case draining
    }

    struct Lane: Sendable {
        var phase: Phase
        var spacingNanoseconds: Int64
        /// The token's next call leaves no earlier than this (its pace).
        var nextCallAt: Int64 = .min
        var inFlight = 0
        /// Calls owed to operations already called, outside the claimed queue (`callFinished`'s
        /// `callsAgain`): made before the queue's, as they are older work.
        var followUps = 0
        /// The grant that last served it (0: never); lower goes first.
        var lastTurn: UInt64 = 0
        /// Order of opening, to break ties the same way every run (a dictionary's order is not).
        let opened: UInt64

        /// Calls it may make once its pace, a hold and a slot allow.
        var callsWaiting: Int {
            if case .calling(let queued) = phase { return followUps + queued }
            return followUps
        }
    }

    /// Apple calls in flight at once over every lane (`EngineSettings.appleCallsInFlightMax`).
    public let callsInFlightMax: Int
    /// Calls a second allowed a token that is not told otherwise (Apple's live
    /// `maxRequestPerSecond`, the same for every token today).
    public var perSecondDefault: Int
    public private(set) var callsInFlight = 0
    var lanes: [TokenID: Lane] = [:]
    /// Tokens Apple told to wait (429, Retry-After): no call and no claim before the time. Kept
    /// apart from the lanes so that a lane ending and opening again does not forget it.
    var holds: [TokenID: Int64] = [:]
    var turns: UInt64 = 0
    var openings: UInt64 = 0
    /// Set when the engine stops: no claim or call is started any more.
    public private(set) var stopping = false

    public init(callsInFlightMax: Int, perSecondDefault: Int = 15) {
        precondition(callsInFlightMax > 0, "at least one call may be in flight")
        precondition(perSecondDefault > 0, "a token may call at least once a second")
        self.callsInFlightMax = callsInFlightMax
        self.perSecondDefault = perSecondDefault
    }

    /// The tokens whose lane is open (they have due work, or calls in flight).
    public var openLanes: Set<TokenID> { Set(lanes.keys) }

    /// Whether the token's lane is open.
    public func isOpen(_ token: TokenID) -> Bool { lanes[token] != nil }

    /// Whether nothing is open and nothing in flight: an engine that stops may return.
    public var isIdle: Bool { lanes.isEmpty }

    /// The token has work due from `dueAt` (a commit in this process, a poll of the ledger, an
    /// operation rescheduled): opens its lane, or brings its due time nearer.
    public mutating func workAppeared(_ token: TokenID, dueAt: Int64) {
        guard var lane = lanes[token] else {
            openings += 1
            lanes[token] = Lane(phase: .due(at: dueAt), spacingNanoseconds: Self.spacingNanoseconds(perSecond: perSecondDefault),
                                opened: openings)
            return
        }
        switch lane.phase {
        case .due(let at): lane.phase = .due(at: min(at, dueAt))
        case .claiming(let more): lane.phase = .claiming(moreDueAt: min(more ?? dueAt, dueAt))
        // The queue running out claims again at once: the new work is read then.
        case .calling: break
        case .draining: lane.phase = .due(at: dueAt)
        }
        lanes[token] = lane
    }

    /// Apple's live rate for a token (its `maxRequestPerSecond`): paces its next calls.
    public mutating func pace(_ token: TokenID, perSecond: Int) {
        lanes[token]?.spacingNanoseconds = Self.spacingNanoseconds(perSecond: perSecond)
    }

    /// What the claim asked by `.claim` took: `operations` claimed (each gets one `.call`);
    /// `nextDueAt`, the earliest time something of the token not claimed becomes due (nil:
    /// nothing unfinished). A lane that claimed nothing, has nothing in flight and nothing
    /// coming ends; one with work later sleeps until it is due.
    public mutating func claimed(_ token: TokenID, operations: Int, nextDueAt: Int64?) {
        precondition(operations >= 0, "a claim takes no operations or some")
        guard var lane = lanes[token], case .claiming(let more) = lane.phase else {
            preconditionFailure("a claim is answered only when the machine asked for it")
        }
        let later = [more, nextDueAt].compactMap { $0 }.min()
        if operations > 0 {
            lane.phase = .calling(queued: operations)
        } else if lane.inFlight > 0 || lane.followUps > 0 {
            // Claimed again when a call answers; that claim tells what is due later.
            lane.phase = .draining
        } else if let later {
            lane.phase = .due(at: later)
        } else {
            lanes[token] = nil
            return
        }
        lanes[token] = lane
    }

    /// Apple told the token to wait until `until` (429 or 5xx with Retry-After): nothing goes
    /// to it before then. The lane's claimed operations not yet called are not called: the
    /// engine gives them back (their leases would otherwise hold them from other nodes through
    /// the wait), and the lane claims again when the hold ends.
    public mutating func held(_ token: TokenID, until: Int64) {
        holds[token] = max(until, holds[token] ?? .min)
        gaveBack(token, dueAt: until)
    }

    /// The engine gave back the lane's claimed operations not yet called, and dropped its
    /// follow-ups (Apple held the token, the token died or was claimed elsewhere): the lane
    /// claims again from `dueAt`, and that claim reads what the token then has due.
    public mutating func gaveBack(_ token: TokenID, dueAt: Int64) {
        guard var lane = lanes[token] else { return }
        // A follow-up not made is the engine's to reschedule, like the claimed operations.
        lane.followUps = 0
        switch lane.phase {
        case .calling, .draining, .due: lane.phase = .due(at: dueAt)
        case .claiming(let more): lane.phase = .claiming(moreDueAt: max(more ?? dueAt, dueAt))
        }
        lanes[token] = lane
    }

    /// One call of the token's has answered (whatever the answer): its slot is free. With
    /// `callsAgain`, its operation needs one more call at once (Apple accepted a send and its
    /// first poll is due now): that call is paced and counted like any other, since Apple
    /// counts every call of the token, polls too.
    public mutating func callFinished(_ token: TokenID, callsAgain: Bool = false) {
        guard var lane = lanes[token], lane.inFlight > 0 else { preconditionFailure("a call finished that the machine did not start") }
        precondition(callsInFlight > 0, "calls in flight count every lane's")
        lane.inFlight -= 1
        callsInFlight -= 1
        if callsAgain && !stopping { lane.followUps += 1 }
        if lane.phase == .draining { lane.phase = .due(at: .min) }
        lanes[token] = lane
    }

    /// The engine is stopping: no claim or call is started from now on; calls in flight still
    /// answer (`callFinished`), and a lane ends once its last has.
    public mutating func stop() {
        stopping = true
        lanes = lanes.filter { $0.value.inFlight > 0 }
    }

    /// The next action at `now`. Claims go before calls: they cost the ledger, not Apple, and a
    /// lane with nothing claimed cannot take its turn.
    public mutating func next(now: Int64) -> Action {
        if stopping {
            lanes = lanes.filter { $0.value.inFlight > 0 }
            return .sleep(until: nil)
        }
        holds = holds.filter { $0.value > now }
        if let token = firstServed(where: { token, lane in
            if case .due(let at) = lane.phase { return at <= now && !isHeld(token, now: now) }
            return false
        }) {
            lanes[token]?.phase = .claiming(moreDueAt: nil)
            return .claim(token)
        }
        if callsInFlight < callsInFlightMax, let token = firstServed(where: { token, lane in
            lane.callsWaiting > 0 && lane.nextCallAt <= now && !isHeld(token, now: now)
        }) {
            grant(token, now: now)
            return .call(token)
        }
        return .sleep(until: wakeAt(now: now))
    }

    private func isHeld(_ token: TokenID, now: Int64) -> Bool { (holds[token] ?? .min) > now }

    /// The lane served least recently among those `ready` (ties: the first opened): the
    /// round-robin that bounds how long new work waits. A scan of the open lanes, one per token
    /// with due work: thousands at the most, a few microseconds a decision.
    private func firstServed(where ready: (TokenID, Lane) -> Bool) -> TokenID? {
        var best: (token: TokenID, turn: UInt64, opened: UInt64)?
        for (token, lane) in lanes where ready(token, lane) {
            if let current = best, (current.turn, current.opened) < (lane.lastTurn, lane.opened) { continue }
            best = (token, lane.lastTurn, lane.opened)
        }
        return best?.token
    }

    private mutating func grant(_ token: TokenID, now: Int64) {
        guard var lane = lanes[token], lane.callsWaiting > 0 else { preconditionFailure("only a lane with a call waiting is granted one") }
        turns += 1
        lane.lastTurn = turns
        lane.inFlight += 1
        callsInFlight += 1
        precondition(callsInFlight <= callsInFlightMax, "calls in flight stay within their bound")
        // Spaced from this call, not from the last planned time: a late wake never makes a burst
        // that Apple, counting arrivals, would answer with 9646.
        lane.nextCallAt = now + lane.spacingNanoseconds
        if lane.followUps > 0 {
            lane.followUps -= 1
        } else if case .calling(let queued) = lane.phase {
            // The last claimed operation called: the next round is claimed at once, while this
            // call is in flight, so a lane with a backlog keeps to its pace without a gap.
            lane.phase = queued > 1 ? .calling(queued: queued - 1) : .due(at: now)
        }
        lanes[token] = lane
    }

    /// When something becomes possible without being told: a due time, a pace or a hold
    /// passing. A lane waiting for a free slot wakes when a call finishes (`callFinished`).
    private func wakeAt(now: Int64) -> Int64? {
        var wake: Int64?
        for (token, lane) in lanes {
            let hold = holds[token] ?? .min
            if case .due(let due) = lane.phase { wake = min(wake ?? .max, max(due, hold, now)) }
            if lane.callsWaiting > 0 && callsInFlight < callsInFlightMax { wake = min(wake ?? .max, max(lane.nextCallAt, hold, now)) }
        }
        return wake
    }
}
