import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What the delivery loop keeps between the lane scheduler's actions (DESIGN.md, "Lanes").
struct LaneDriver {
    var scheduler: LaneScheduler
    /// Per open lane: the token, its secret, and the operations its claims took.
    var work: [TokenID: LaneWork] = [:]
    /// Tokens an answer asked to sync with Apple (`.resend` or `.complete` with a resync).
    var resync = Set<TokenID>()
    /// The tenants, and the tenant of each token with due work, as the last look read them.
    var tenants: [TenantID: Tenant] = [:]
    var tenantOfToken: [TokenID: TenantID] = [:]
    /// The scheduler's clock: nanoseconds of the monotonic clock since this origin.
    let origin = ContinuousClock.now

    init(callsInFlightMax: Int) {
        scheduler = LaneScheduler(callsInFlightMax: callsInFlightMax)
    }

    var nanoseconds: Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    func instant(_ nanoseconds: Int64) -> ContinuousClock.Instant { origin.advanced(by: .nanoseconds(nanoseconds)) }

    /// The scheduler's time of a ledger time (whole seconds of the wall clock, `ledgerNow` now).
    func nanoseconds(ledgerSeconds: Int64, ledgerNow: Int64) -> Int64 {
        let ahead = ledgerSeconds.subtractingReportingOverflow(ledgerNow)
        guard !ahead.overflow else { return ledgerSeconds < ledgerNow ? .min : .max }
        return nanoseconds + max(-1_000_000, min(ahead.partialValue, 1_000_000)) * 1_000_000_000
    }

    /// The next operation of the token's lane to call: a follow-up first, then the claimed
    /// queue, in the order the scheduler counts them (`LaneScheduler.grant`).
    mutating func takeCall(_ token: TokenID) -> (OutboxOperation, LaneWork) {
        guard var lane = work[token] else { preconditionFailure("the scheduler granted a call to a lane with no claim") }
        let operation = lane.followUps.isEmpty ? lane.queued.removeFirst() : lane.followUps.removeFirst()
        work[token] = lane
        return (operation, lane)
    }
}

/// One open lane's claimed work.
struct LaneWork {
    var tenant: Tenant
    var token: TokenRecord
    var bearer: String
    /// Claimed, not yet called, in commit order.
    var queued: [OutboxOperation] = []
    /// Sent, their first poll due at once: called before the queue, as older work.
    var followUps: [OutboxOperation] = []

    /// Every operation it holds a lease on without a call in flight.
    var held: [OutboxOperation] { followUps + queued }
}

extension Allot {
    /// A lane that claimed nothing though something of its token was due asks again after
    /// this: what it waits on (an earlier operation on the same serials that another node
    /// sends, room at Apple) is not told to this node.
    static let laneRecheckNanoseconds: Int64 = 1_000_000_000

    /// `allot serve`'s delivery: long-lived lanes, one per token with due work, driven by the
    /// lane scheduler (`LaneScheduler`), until `stopDelivering()`; returns once the calls in
    /// flight have answered. A commit in this process wakes it at once; work committed by other
    /// nodes (or coming due, or resumed) is found by a look at the outbox every `pollSeconds`.
    /// Unlike `push`, no lane waits for another: a token with new work calls within one Apple
    /// round trip plus its pace, whatever another token's backlog.
    public func deliverUntilStopped(pollSeconds: Double = 1, onError: @escaping @Sendable (any Error) -> Void = { _ in }) async {
        guard let apple, !delivery.stopping else { return }
        let pollNanoseconds = Int64(max(0.01, pollSeconds) * 1e9)
        laneDriver = LaneDriver(callsInFlightMax: settings.appleCallsInFlightMax)
        var nextLook = Int64.min
        await withTaskGroup(of: Void.self) { calls in
            while true {
                if delivery.stopping || Task.isCancelled {
                    laneDriver.scheduler.stop()
                    if laneDriver.scheduler.isIdle || Task.isCancelled { break }
                } else if laneDriver.nanoseconds >= nextLook || doorbell.takeWorkCommitted() {
                    do { try await lookForDueWork(apple, onError: onError) } catch { onError(error) }
                    nextLook = laneDriver.nanoseconds + pollNanoseconds
                }
                switch laneDriver.scheduler.next(now: laneDriver.nanoseconds) {
                case .claim(let token):
                    do { try claimForLane(token) } catch {
                        onError(error)
                        laneDriver.scheduler.claimed(token, operations: 0, nextDueAt: laneDriver.nanoseconds + Self.laneRecheckNanoseconds)
                    }
                    if !laneDriver.scheduler.isOpen(token) { laneDriver.work[token] = nil }
                case .call(let token):
                    let (operation, lane) = laneDriver.takeCall(token)
                    calls.addTask { await self.callForLane(operation, lane, apple: apple, onError: onError) }
                case .sleep(let until):
                    let wake = delivery.stopping ? until : min(until ?? .max, nextLook)
                    await doorbell.sleep(until: wake.map { laneDriver.instant($0) })
                }
            }
        }
        // Claimed and never called (the stop came between a claim and its calls): given back
        // now, not when their leases run out.
        for lane in laneDriver.work.values {
            for operation in lane.held { try? ledger.releaseLease(operation.id, owner: workerId) }
        }
        laneDriver.work = [:]
        await resyncAfterDelivery(onError: onError)
    }

    /// Opens a lane for every token with work due now (a look at the outbox), with what
    /// `push` prepares first: Apple's live limits, oversized operations split, drained secrets
    /// erased, and the syncs answers asked for.
    private func lookForDueWork(_ apple: any AppsAndBooksService, onError: @Sendable (any Error) -> Void) async throws {
        let limits = await liveLimits(apple)
        if settings.paceRequests { laneDriver.scheduler.perSecondDefault = max(1, limits.maxRequestPerSecond) }
        try ledger.splitOversizedOperations(limits)
        await resyncAfterDelivery(onError: onError)
        try ledger.eraseDrainedSecrets()
        let due = try ledger.tokensWithDueOperations(tenant: nil)
        if due.contains(where: { laneDriver.tenants[$0.tenant] == nil }) {
            laneDriver.tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        }
        let now = laneDriver.nanoseconds
        // An open lane is told too: it may sleep until a later due time (a poll an hour away
        // that a notification brought forward), and the machine brings its due time nearer.
        for (token, tenant) in due {
            laneDriver.tenantOfToken[token] = tenant
            laneDriver.scheduler.workAppeared(token, dueAt: now)
        }
    }

    /// The claim the scheduler asked for: the ledger half of a round (`claimRound`), told to
    /// the scheduler.
    private func claimForLane(_ tokenId: TokenID) throws {
        guard let tenant = laneDriver.tenantOfToken[tokenId].flatMap({ laneDriver.tenants[$0] }) else {
            preconditionFailure("a lane opens only for a token whose tenant the look at the outbox read")
        }
        switch try claimRound(tokenId, tenant: tenant) {
        case .claimed(let operations, let token, let bearer):
            var lane = laneDriver.work[tokenId] ?? LaneWork(tenant: tenant, token: token, bearer: bearer)
            (lane.token, lane.bearer) = (token, bearer)
            lane.queued += operations
            laneDriver.work[tokenId] = lane
            laneDriver.scheduler.claimed(tokenId, operations: operations.count, nextDueAt: nil)
        case .nothing(let nextDueAt):
            let due = nextDueAt.map { max(laneDriver.nanoseconds(ledgerSeconds: $0, ledgerNow: now), laneDriver.nanoseconds + Self.laneRecheckNanoseconds) }
            laneDriver.scheduler.claimed(tokenId, operations: 0, nextDueAt: due)
        case .paused, .unreadable, .fileGone:
            // Nothing of it can go until an admin acts (renews, takes over, fixes the key):
            // the look at the outbox opens the lane again once something is due.
            laneDriver.scheduler.claimed(tokenId, operations: 0, nextDueAt: nil)
        }
    }

    /// One call the scheduler granted, its answer recorded, the scheduler told.
    private func callForLane(_ operation: OutboxOperation, _ lane: LaneWork, apple: any AppsAndBooksService,
                             onError: @Sendable (any Error) -> Void) async {
        let token = lane.token.id
        var next = LaneNext.goOn
        do {
            let (step, outcome) = try await deliver(operation, token: lane.token, tenant: lane.tenant, apple: apple,
                                                    bearer: lane.bearer, turn: .granted)
            next = step
            laneDriver.resync.formUnion(outcome.resync)
        } catch {
            onError(error)
            // The ledger failed under the answer: another round (or node) reads it again.
            try? ledger.releaseLease(operation.id, owner: workerId)
        }
        defer { doorbell.ring() }
        switch next {
        case .goOn:
            laneDriver.scheduler.callFinished(token)
        case .pollNow(let sent) where laneDriver.scheduler.isOpen(token) && !delivery.stopping:
            laneDriver.work[token]?.followUps.append(sent)
            laneDriver.scheduler.callFinished(token, callsAgain: true)
        case .pollNow(let sent):
            try? ledger.releaseLease(sent.id, owner: workerId)
            laneDriver.scheduler.callFinished(token)
        case .stop:
            // Apple held the token, or it died or is claimed elsewhere: what the lane claimed
            // and did not call goes back, for the next claim to read again.
            delivery.lanesEnding.remove(token)
            for held in laneDriver.work[token]?.held ?? [] { try? ledger.releaseLease(held.id, owner: workerId) }
            laneDriver.work[token]?.queued = []
            laneDriver.work[token]?.followUps = []
            if let until = delivery.heldUntil[token], until > now {
                laneDriver.scheduler.held(token, until: laneDriver.nanoseconds(ledgerSeconds: until, ledgerNow: now))
            } else {
                laneDriver.scheduler.gaveBack(token, dueAt: laneDriver.nanoseconds)
            }
            laneDriver.scheduler.callFinished(token)
        }
    }

    /// Syncs the tokens whose answers asked for it (`resync`), as `push` does after its lanes.
    private func resyncAfterDelivery(onError: @Sendable (any Error) -> Void) async {
        guard !laneDriver.resync.isEmpty, !delivery.stopping else { return }
        let tokens = laneDriver.resync
        laneDriver.resync = []
        do { try await resync(tokens) } catch { onError(error) }
    }

    /// Syncs these tokens with Apple: an answer showed that Apple's side moved under them.
    func resync(_ tokens: Set<TokenID>) async throws {
        let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        for record in try ledger.allTokens() where tokens.contains(record.id) {
            if let owner = tenants[record.tenantId] { _ = try await syncToken(tenant: owner, token: record) }
        }
    }
}
