import AllotCore
import Testing

/// The lane machine against a simulated clock and a simulated Apple: every figure is of
/// simulated time, so no assertion depends on how busy the machine running the tests is.
@Suite(.timeLimit(.minutes(5))) struct LaneSchedulerTests {
    static let millisecond: Int64 = 1_000_000
    static let second: Int64 = 1_000_000_000
    static let big = TokenID(1)
    static let smalls = (2...6).map { TokenID(Int64($0)) }

    /// A machine whose one lane, `token`'s, claimed `operations` at 0 and made its first call.
    func oneCall(_ token: TokenID, claimed operations: Int, callsInFlightMax: Int = 4) -> LaneScheduler {
        var machine = LaneScheduler(callsInFlightMax: callsInFlightMax)
        machine.workAppeared(token, dueAt: 0)
        #expect(machine.next(now: 0) == .claim(token))
        machine.claimed(token, operations: operations, nextDueAt: nil)
        #expect(machine.next(now: 0) == .call(token))
        return machine
    }

    // MARK: One lane, step by step

    @Test func aLaneClaimsCallsAndEndsWhenItsTokenHasNoDueWorkThenOpensAgainWhenWorkAppears() {
        var empty = LaneScheduler(callsInFlightMax: 4)
        #expect(empty.next(now: 0) == .sleep(until: nil), "no lane, nothing to wake for")
        let token = TokenID(7)
        var machine = oneCall(token, claimed: 1)
        // The queue ran out: the next round is claimed while the call is in flight.
        #expect(machine.next(now: 0) == .claim(token))
        machine.claimed(token, operations: 0, nextDueAt: nil)
        #expect(machine.next(now: 0) == .sleep(until: nil))
        #expect(machine.openLanes == [token], "a lane with a call in flight stays open")
        machine.callFinished(token)
        // The answer may have freed an operation that waited on the same serials.
        #expect(machine.next(now: 10) == .claim(token))
        machine.claimed(token, operations: 0, nextDueAt: nil)
        #expect(machine.isIdle)
        #expect(machine.next(now: 10) == .sleep(until: nil))
        machine.workAppeared(token, dueAt: 20)
        #expect(machine.next(now: 10) == .sleep(until: 20))
        #expect(machine.next(now: 20) == .claim(token))
    }

    @Test func aLaneWithWorkDueLaterSleepsUntilItIsDue() {
        var machine = LaneScheduler(callsInFlightMax: 4)
        let token = TokenID(7)
        machine.workAppeared(token, dueAt: 0)
        #expect(machine.next(now: 0) == .claim(token))
        machine.claimed(token, operations: 0, nextDueAt: 30 * Self.second)
        #expect(machine.openLanes == [token])
        #expect(machine.next(now: 0) == .sleep(until: 30 * Self.second))
        #expect(machine.next(now: 30 * Self.second) == .claim(token))
    }

    @Test func callsOfOneTokenAreSpacedToItsPace() {
        var machine = LaneScheduler(callsInFlightMax: 10, perSecondDefault: 10)
        let token = TokenID(7)
        let spacing = LaneScheduler.spacingNanoseconds(perSecond: 10)
        #expect(spacing == 102 * Self.millisecond, "Apple's rate with the 2% margin")
        machine.workAppeared(token, dueAt: 0)
        _ = machine.next(now: 0)
        machine.claimed(token, operations: 3, nextDueAt: nil)
        #expect(machine.next(now: 0) == .call(token))
        #expect(machine.next(now: 0) == .sleep(until: spacing))
        #expect(machine.next(now: spacing) == .call(token))
        machine.pace(token, perSecond: 5)
        #expect(machine.next(now: spacing) == .sleep(until: 2 * spacing), "a new rate applies from the next call")
        #expect(machine.next(now: 2 * spacing) == .call(token))
        #expect(machine.next(now: 2 * spacing) == .claim(token))
    }

    @Test func aHeldTokenIsNeitherClaimedNorCalledUntilItsHoldEndsEvenAfterItsLaneReopens() {
        let token = TokenID(7)
        var machine = oneCall(token, claimed: 5)
        machine.held(token, until: 2 * Self.second)
        machine.callFinished(token)
        #expect(machine.next(now: Self.second) == .sleep(until: 2 * Self.second), "its claimed operations are not called")
        #expect(machine.next(now: 2 * Self.second) == .claim(token))
        machine.claimed(token, operations: 0, nextDueAt: nil)
        #expect(machine.isIdle)
        machine.held(token, until: 5 * Self.second)
        machine.workAppeared(token, dueAt: 3 * Self.second)
        #expect(machine.next(now: 3 * Self.second) == .sleep(until: 5 * Self.second))
    }

    @Test func aFreedSlotGoesToTheLaneServedLeastRecently() {
        let busy = TokenID(1), fresh = TokenID(2)
        var machine = oneCall(busy, claimed: 30, callsInFlightMax: 1)
        machine.workAppeared(fresh, dueAt: 0)
        #expect(machine.next(now: 0) == .claim(fresh))
        machine.claimed(fresh, operations: 1, nextDueAt: nil)
        #expect(machine.next(now: 0) == .sleep(until: nil), "the one slot is taken: wake when it frees")
        machine.callFinished(busy)
        #expect(machine.next(now: Self.second) == .call(fresh))
    }

    @Test func lanesWithBacklogsTakeTurnsForTheSlots() {
        var machine = LaneScheduler(callsInFlightMax: 1, perSecondDefault: 1_000)
        let tokens = [TokenID(1), TokenID(2), TokenID(3)]
        for token in tokens {
            machine.workAppeared(token, dueAt: 0)
            #expect(machine.next(now: 0) == .claim(token))
            machine.claimed(token, operations: 30, nextDueAt: nil)
        }
        var served: [TokenID] = []
        for step in 1...6 {
            guard case .call(let token) = machine.next(now: Int64(step) * Self.second) else { Issue.record("no call at step \(step)"); return }
            served.append(token)
            machine.callFinished(token)
        }
        #expect(served == tokens + tokens)
    }

    @Test func aCallOwedToAnOperationAlreadySentGoesBeforeTheQueueAtTheTokensPace() {
        let token = TokenID(7)
        var machine = oneCall(token, claimed: 1)
        #expect(machine.next(now: 0) == .claim(token))
        machine.claimed(token, operations: 2, nextDueAt: nil)
        machine.callFinished(token, callsAgain: true)
        let spacing = LaneScheduler.spacingNanoseconds(perSecond: 15)
        #expect(machine.next(now: 1) == .sleep(until: spacing))
        #expect(machine.next(now: spacing) == .call(token))
        machine.callFinished(token)
        #expect(machine.next(now: 2 * spacing) == .call(token))
        #expect(machine.next(now: 3 * spacing) == .call(token))
        #expect(machine.next(now: 3 * spacing) == .claim(token), "two queued calls and one owed: three calls, then the next round")
    }

    @Test func aLaneThatGaveBackItsClaimCallsNothingMoreAndClaimsAgainWhenTold() {
        let token = TokenID(7)
        // Five claimed, one called; the token died under that call: the other four are given back.
        var machine = oneCall(token, claimed: 5)
        machine.gaveBack(token, dueAt: 0)
        #expect(machine.next(now: 0) == .claim(token), "the next claim reads what the token has due now")
        machine.claimed(token, operations: 0, nextDueAt: nil)
        #expect(machine.next(now: Self.second) == .sleep(until: nil), "none of the four given back is called")
        machine.callFinished(token)
        #expect(machine.next(now: Self.second) == .claim(token))
        machine.claimed(token, operations: 0, nextDueAt: nil)
        #expect(machine.isIdle, "nothing due, nothing in flight: the lane ends")
    }

    @Test func aStoppedMachineStartsNothingAndEndsItsLanesAsTheirCallsAnswer() {
        let token = TokenID(7)
        var machine = oneCall(token, claimed: 5)
        machine.stop()
        #expect(machine.next(now: Self.second) == .sleep(until: nil))
        #expect(!machine.isIdle, "a call is in flight")
        machine.callFinished(token)
        #expect(machine.next(now: Self.second) == .sleep(until: nil))
        #expect(machine.isIdle)
    }

    // MARK: Many lanes against a simulated Apple

    @Test func fiveSmallTokensNewWorkIsCalledWithinOneRoundTripWhileABigBacklogKeepsFourFifthsOfItsRate() {
        let run = SimulatedDelivery(seed: 31, callsInFlightMax: 4).run()
        let spacing = LaneScheduler.spacingNanoseconds(perSecond: SimulatedDelivery.perSecond)
        #expect(run.smallWaits.count == Self.smalls.count, "each small token's operation was called")
        for (token, wait) in run.smallWaits {
            #expect(wait <= SimulatedDelivery.roundTripMax + spacing, "token \(token.rawValue) waited \(wait / Self.millisecond) ms")
        }
        #expect(run.bigDelivered == SimulatedDelivery.bigBacklog)
        #expect(run.bigRateFraction >= 0.8, "the big token ran at \(run.bigRateFraction) of Apple's rate")
        #expect(run.maxInFlight <= 4)
        #expect(run.paceKept)
        #expect(run.holdsKept)
    }

    @Test func theBoundOnCallsInFlightIsNeverExceededAndNewWorkStillGoesWithinOneRoundTrip() {
        let run = SimulatedDelivery(seed: 7, callsInFlightMax: 2, bigBacklog: 20_000).run()
        #expect(run.maxInFlight == 2, "the bound was reached, never passed")
        for (token, wait) in run.smallWaits {
            #expect(wait <= SimulatedDelivery.roundTripMax + LaneScheduler.spacingNanoseconds(perSecond: SimulatedDelivery.perSecond),
                    "token \(token.rawValue) waited \(wait / Self.millisecond) ms")
        }
    }

    @Test func noCallGoesToATokenAppleToldToWaitAndEveryTokenKeepsItsPace() {
        let run = SimulatedDelivery(seed: 11, callsInFlightMax: 8, bigBacklog: 20_000, holdOneCallIn: 200).run()
        #expect(run.holds > 10, "Apple told the big token to wait \(run.holds) times")
        #expect(run.holdsKept)
        #expect(run.paceKept)
        #expect(run.bigDelivered == 20_000, "what a hold gave back was delivered later")
    }

    @Test func aSendsFirstPollAtOnceIsPacedAndCountedLikeAnyCallAndNewWorkStillGoesWithinOneRoundTrip() {
        let run = SimulatedDelivery(seed: 13, callsInFlightMax: 4, bigBacklog: 20_000, pollsAtOnce: true).run()
        #expect(run.bigDelivered == 20_000)
        #expect(run.paceKept, "a token's polls and sends together keep its pace")
        #expect(run.bigCallRateFraction >= 0.8, "the big token called at \(run.bigCallRateFraction) of Apple's rate")
        #expect(run.smallWaits.count == LaneSchedulerTests.smalls.count)
        for (token, wait) in run.smallWaits {
            #expect(wait <= SimulatedDelivery.roundTripMax + LaneScheduler.spacingNanoseconds(perSecond: SimulatedDelivery.perSecond),
                    "token \(token.rawValue) waited \(wait / Self.millisecond) ms")
        }
    }

    @Test func theSameSeedGivesTheSameScheduleAndAnotherSeedAnother() {
        let first = SimulatedDelivery(seed: 5, callsInFlightMax: 3, bigBacklog: 5_000, holdOneCallIn: 500).run()
        let again = SimulatedDelivery(seed: 5, callsInFlightMax: 3, bigBacklog: 5_000, holdOneCallIn: 500).run()
        let other = SimulatedDelivery(seed: 6, callsInFlightMax: 3, bigBacklog: 5_000, holdOneCallIn: 500).run()
        #expect(first.calls == again.calls)
        #expect(first.calls != other.calls)
    }
}

/// A simulated Apple and ledger around the machine: a big token with a backlog, five small
/// tokens each given one operation while it runs, seeded latencies, and (optionally) seeded 429s.
struct SimulatedDelivery {
    static let perSecond = 15
    static let roundTripMin: Int64 = 100_000_000
    static let roundTripMax: Int64 = 200_000_000
    static let retryAfter: Int64 = 1_000_000_000
    static let bigBacklog = 300_000
    /// The engine's claim size (`LaneRound.operationsMax`).
    static let roundMax = LaneRound.operationsMax

    struct Call: Hashable { let at: Int64; let token: TokenID }

    struct Run {
        var calls: [Call] = []
        var smallWaits: [(TokenID, Int64)] = []
        var bigDelivered = 0
        /// Operations delivered a second, over Apple's calls a second.
        var bigRateFraction = 0.0
        /// Calls made a second, over Apple's calls a second.
        var bigCallRateFraction = 0.0
        var maxInFlight = 0
        var holds = 0
        var paceKept = true
        var holdsKept = true
    }

    enum Event { case answer(TokenID, held: Bool, send: Bool), arrival(TokenID) }

    let seed: UInt64
    let callsInFlightMax: Int
    let bigBacklog: Int
    /// One call of the big token in this many is answered 429 (0: none).
    let holdOneCallIn: UInt64
    /// Whether an operation is a send and then its first poll at once (two calls), as the
    /// engine delivers, rather than one call.
    let pollsAtOnce: Bool

    init(seed: UInt64, callsInFlightMax: Int, bigBacklog: Int = Self.bigBacklog, holdOneCallIn: UInt64 = 0, pollsAtOnce: Bool = false) {
        self.pollsAtOnce = pollsAtOnce
        self.seed = seed
        self.callsInFlightMax = callsInFlightMax
        self.bigBacklog = bigBacklog
        self.holdOneCallIn = holdOneCallIn
    }

    func run() -> Run {
        var generator = SplitMix64(seed: seed)
        var machine = LaneScheduler(callsInFlightMax: callsInFlightMax, perSecondDefault: Self.perSecond)
        var result = Run()
        var events: [(at: Int64, order: Int, event: Event)] = []
        var order = 0
        func schedule(_ at: Int64, _ event: Event) {
            order += 1
            let index = events.firstIndex { ($0.at, $0.order) > (at, order) } ?? events.endIndex
            events.insert((at, order, event), at: index)
        }
        let big = LaneSchedulerTests.big
        var backlog: [TokenID: Int] = [big: bigBacklog]
        var claimedQueue: [TokenID: Int] = [:]
        var pollsOwed: [TokenID: Int] = [:]
        var bigCalls = 0
        var arrivedAt: [TokenID: Int64] = [:]
        var holdsUntil: [TokenID: Int64] = [:]
        var lastCall: [TokenID: Int64] = [:]
        var inFlight = 0
        var lastBigAnswer: Int64 = 0
        // The small tokens' operations arrive a few seconds apart while the backlog is delivered.
        for (index, token) in LaneSchedulerTests.smalls.enumerated() {
            let jitter = Int64(generator.next() % 3_000) * 1_000_000
            schedule(Int64(index + 1) * 7_000_000_000 + jitter, .arrival(token))
        }
        backlog[big] = bigBacklog
        machine.workAppeared(big, dueAt: 0)
        var now: Int64 = 0
        let spacing = LaneScheduler.spacingNanoseconds(perSecond: Self.perSecond)
        // Bounded: every step calls, claims or moves time to an event; the backlog bounds them.
        for _ in 0..<(bigBacklog * 20 + 1_000) {
            var sleepUntil: Int64?
            acting: while true {
                switch machine.next(now: now) {
                case .claim(let token):
                    let taken = min(Self.roundMax, backlog[token, default: 0])
                    backlog[token, default: 0] -= taken
                    claimedQueue[token, default: 0] += taken
                    machine.claimed(token, operations: taken, nextDueAt: nil)
                case .call(let token):
                    // The machine makes calls owed (first polls) before the claimed queue's.
                    let send = pollsOwed[token, default: 0] == 0
                    if send {
                        precondition(claimedQueue[token, default: 0] > 0, "a call is granted for a claimed operation")
                        claimedQueue[token, default: 0] -= 1
                    } else {
                        pollsOwed[token, default: 0] -= 1
                    }
                    if token == big { bigCalls += 1 }
                    inFlight += 1
                    result.maxInFlight = max(result.maxInFlight, inFlight)
                    result.calls.append(Call(at: now, token: token))
                    if let last = lastCall[token], now - last < spacing { result.paceKept = false }
                    lastCall[token] = now
                    if let held = holdsUntil[token], now < held { result.holdsKept = false }
                    if let arrived = arrivedAt.removeValue(forKey: token) { result.smallWaits.append((token, now - arrived)) }
                    let latency = Self.roundTripMin + Int64(generator.next() % UInt64(Self.roundTripMax - Self.roundTripMin + 1))
                    let held = token == big && holdOneCallIn > 0 && generator.next() % holdOneCallIn == 0
                    schedule(now + latency, .answer(token, held: held, send: send))
                case .sleep(let until):
                    sleepUntil = until
                    break acting
                }
            }
            if let sleepUntil, sleepUntil < events.first?.at ?? .max {
                now = sleepUntil
                continue
            }
            guard let event = events.first else { break }
            events.removeFirst()
            now = event.at
            switch event.event {
            case .answer(let token, let held, let send):
                inFlight -= 1
                if held {
                    // Apple refused it: it, the lane's claimed operations and its polls owed go
                    // back to the outbox.
                    backlog[token, default: 0] += 1 + claimedQueue[token, default: 0] + pollsOwed[token, default: 0]
                    claimedQueue[token] = 0
                    pollsOwed[token] = 0
                    holdsUntil[token] = now + Self.retryAfter
                    result.holds += 1
                    machine.held(token, until: now + Self.retryAfter)
                    machine.workAppeared(token, dueAt: now + Self.retryAfter)
                } else if send && pollsAtOnce {
                    pollsOwed[token, default: 0] += 1
                    machine.callFinished(token, callsAgain: true)
                    continue
                } else if token == big {
                    result.bigDelivered += 1
                    lastBigAnswer = now
                }
                machine.callFinished(token)
            case .arrival(let token):
                backlog[token, default: 0] += 1
                arrivedAt[token] = now
                machine.workAppeared(token, dueAt: now)
            }
        }
        precondition(machine.isIdle, "the simulation ran to the end")
        let allowedPerSecond = Double(Self.perSecond)
        result.bigRateFraction = Double(result.bigDelivered) / (Double(lastBigAnswer) / 1e9) / allowedPerSecond
        result.bigCallRateFraction = Double(bigCalls) / (Double(lastBigAnswer) / 1e9) / allowedPerSecond
        return result
    }
}
