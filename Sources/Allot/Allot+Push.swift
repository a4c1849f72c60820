import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What one push delivered.
public struct PushReport: Sendable, Hashable, Codable {
    /// Requests Apple accepted.
    public var sent = 0
    /// Operations Apple finished.
    public var completed = 0
    /// Serials whose licence Apple refused (9709) and that were released here.
    public var released: [String] = []
    /// Operations to be tried again later (Apple busy, or a failed event).
    public var retrying = 0
    /// Operations given up on (Apple refused the request itself).
    public var failed = 0
    /// Operations still waiting (sent and PENDING, backing off, or paused).
    public var unfinished = 0
    /// Tokens found dead or claimed elsewhere, their operations paused.
    public var pausedTokens: [TokenID] = []
    /// Tokens whose stored file this engine cannot open (another token key, or a damaged file):
    /// their operations wait, pending, until it can.
    public var unreadableTokens: [TokenID] = []
    /// Tokens that had something to deliver (one lane each).
    public var tokens = 0
    /// Tokens Apple told to wait (429, or 5xx with Retry-After): their lane stopped early.
    public var tokensBackingOff = 0

    mutating func merge(_ other: PushReport) {
        sent += other.sent
        completed += other.completed
        released += other.released
        retrying += other.retrying
        failed += other.failed
        for token in other.pausedTokens where !pausedTokens.contains(token) { pausedTokens.append(token) }
        for token in other.unreadableTokens where !unreadableTokens.contains(token) { unreadableTokens.append(token) }
        tokens += other.tokens
        tokensBackingOff += other.tokensBackingOff
    }
}

/// How far a push has come, for a progress line.
public struct PushProgress: Sendable, Hashable {
    /// Requests Apple accepted so far.
    public var sent: Int
    /// Requests that were due when the push began.
    public var toSend: Int
    /// Tokens whose lane is still running.
    public var tokensWaiting: Int
}

/// The lanes' shared bookkeeping inside one engine.
struct DeliveryBookkeeping {
    /// Apple calls in flight now, over every lane (bounded by `appleCallsInFlightMax`).
    var callsInFlight = 0
    /// Lanes waiting for a call slot, woken first come first served.
    var slotWaiters: [CheckedContinuation<Void, Never>] = []
    /// Tokens Apple told to come back later: no lane calls Apple for them before this time.
    var heldUntil: [TokenID: Int64] = [:]
    /// Progress of the push in progress (for `PushProgress`).
    var sent = 0
    var toSend = 0
    var lanesRunning = 0
    /// Told after every request Apple accepts, so a progress line moves with each one rather
    /// than when a whole lane (a token's every request) ends. One push with a progress line at
    /// a time: the CLI's (`allot serve` pushes without one).
    var progress: (@Sendable (PushProgress) -> Void)?
    /// Set when the server stops: lanes start no new Apple call.
    var stopping = false
    /// Lanes that end after their round (Apple said wait, the token died): their calls still
    /// waiting for a turn are not made.
    var lanesEnding = Set<TokenID>()
}

extension Allot {
    /// Starts no new Apple call from now on (`allot serve` is stopping); calls in flight finish,
    /// and what is not delivered stays in the outbox.
    public func stopDelivering() {
        delivery.stopping = true
        // At once, not when the delivery loop next looks: it may be past its look and about
        // to act on what the scheduler said before the stop.
        laneDriver.scheduler.stop()
        doorbell.ring()
    }

    public var isStoppingDelivery: Bool { delivery.stopping }

    /// Lets go of the operations this engine claimed: called by a worker that exits with Apple
    /// calls still in flight, so that the next worker need not wait for the leases to expire.
    public func releaseLeases() throws { try ledger.releaseLeases(owner: workerId) }

    /// Delivers the operations due for Apple (one tenant's, or every tenant's), one lane per
    /// token, the lanes in parallel. Each lane paces its token to Apple's live
    /// `maxRequestPerSecond`, stops when Apple tells that token to wait, and sends an
    /// operation only when every earlier one on the same serials has finished
    /// (`DeliveryOrder`). An operation is claimed in the ledger before it is sent, so two
    /// workers or two processes never send it at once. Re-sending after a crash is harmless:
    /// associate and disassociate are idempotent.
    public func push(tenant slug: String? = nil,
                     progress: (@Sendable (PushProgress) -> Void)? = nil) async throws -> PushReport {
        let tenant = try slug.map { try self.tenant($0) }
        let apple = try requireApple()
        let limits = await liveLimits(apple)
        try ledger.splitOversizedOperations(limits)
        let toSend = try ledger.dueSendCount(tenant: tenant?.id)
        let lanes = try ledger.tokensWithDueOperations(tenant: tenant?.id)
        let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
        delivery.sent = 0
        delivery.toSend = toSend
        delivery.lanesRunning = lanes.count
        if let progress { delivery.progress = progress }
        defer { if progress != nil { delivery.progress = nil } }
        progress?(PushProgress(sent: 0, toSend: toSend, tokensWaiting: lanes.count))
        var report = PushReport()
        var resync = Set<TokenID>()
        var firstError: (any Error)?
        await withTaskGroup(of: Result<LaneOutcome, any Error>.self) { group in
            for lane in lanes {
                guard let owner = tenants[lane.tenant] else { preconditionFailure("an outbox row names tenant \(lane.tenant), which does not exist") }
                group.addTask {
                    do { return .success(try await self.runLane(lane.token, tenant: owner, apple: apple)) } catch { return .failure(error) }
                }
            }
            var running = lanes.count
            for await result in group {
                running -= 1
                delivery.lanesRunning = running
                switch result {
                case .success(let outcome):
                    report.merge(outcome.report)
                    resync.formUnion(outcome.resync)
                case .failure(let error):
                    if firstError == nil { firstError = error }
                }
                progress?(PushProgress(sent: delivery.sent, toSend: toSend, tokensWaiting: running))
            }
        }
        if let firstError { throw firstError }
        if !resync.isEmpty && !delivery.stopping { try await self.resync(resync) }
        try ledger.eraseDrainedSecrets()
        report.unfinished = try ledger.unfinishedOperationCount(tenant: tenant?.id)
        return report
    }

    struct LaneOutcome: Sendable {
        var report = PushReport()
        var resync = Set<TokenID>()

        /// Adds what one operation's delivery did to its lane's outcome.
        mutating func merge(_ step: LaneOutcome) {
            let backingOff = max(report.tokensBackingOff, step.report.tokensBackingOff)
            report.merge(step.report)
            // One lane is one token: it backs off once, however many of its calls were told to.
            report.tokensBackingOff = backingOff
            resync.formUnion(step.resync)
        }
    }

    /// Whether a lane goes on after an operation.
    enum LaneNext: Sendable {
        case goOn, stop
        /// Apple accepted the send and its first poll is due now: the scheduler makes it, paced
        /// like any call (only for a call the scheduler granted; `push` polls in the same step).
        case pollNow(OutboxOperation)
    }

    /// How an Apple call of a lane gets its turn.
    enum CallTurn: Sendable {
        /// `push`: it waits for the token's pace and a free slot (`withCallSlot`).
        case waitsForSlot
        /// `deliverUntilStopped`: the lane scheduler granted it, paced and within the bound.
        case granted
    }

    /// One token's lane: rounds of (read its window, claim what is due and free, call Apple for
    /// those side by side, paced to the token's rate), until nothing is due, Apple says wait, or
    /// the token cannot deliver. Bounded by `pushRoundsMax`. A round's ledger work before its
    /// calls (the token, the window, the choice, one claim) is one turn of the engine's actor,
    /// and each answer is one more: lanes of other tokens interleave between them.
    private func runLane(_ tokenId: TokenID, tenant: Tenant, apple: any AppsAndBooksService) async throws -> LaneOutcome {
        var outcome = LaneOutcome()
        outcome.report.tokens = 1
        delivery.lanesEnding.remove(tokenId)
        defer { delivery.lanesEnding.remove(tokenId) }
        rounds: for _ in 0..<settings.pushRoundsMax where !delivery.stopping {
            if let held = delivery.heldUntil[tokenId], held > now { break }
            let claimed: [OutboxOperation], token: TokenRecord, bearer: String
            switch try claimRound(tokenId, tenant: tenant) {
            case .claimed(let operations, let claimant, let secret): (claimed, token, bearer) = (operations, claimant, secret)
            case .nothing: break rounds
            case .paused(let paused):
                outcome.report.pausedTokens.append(paused)
                break rounds
            case .unreadable(let unreadable):
                outcome.report.unreadableTokens.append(unreadable)
                break rounds
            case .fileGone(let failed):
                outcome.report.failed += failed
                break rounds
            }
            let next = try await withThrowingTaskGroup(of: (LaneNext, LaneOutcome).self) { group in
                for operation in claimed.dropFirst() {
                    group.addTask { try await self.deliver(operation, token: token, tenant: tenant, apple: apple, bearer: bearer) }
                }
                // The first call leaves from this turn of the actor: a child task would queue
                // behind every other lane's turn first (a fleet's first calls then left together,
                // seconds late, as one storm of new connections).
                let (first, firstPart) = try await deliver(claimed[0], token: token, tenant: tenant, apple: apple, bearer: bearer)
                outcome.merge(firstPart)
                var next = first
                for try await (step, part) in group {
                    outcome.merge(part)
                    if case .stop = step { next = .stop }
                }
                return next
            }
            if case .stop = next { break }
        }
        return outcome
    }

    /// What one claim of a token's lane took: the ledger half of a round, the same for `push`
    /// and for the lanes of `deliverUntilStopped`.
    enum RoundClaim {
        /// Operations claimed for this worker, with the token and its secret their calls need.
        case claimed([OutboxOperation], token: TokenRecord, bearer: String)
        /// Nothing to take now. `nextDueAt` (the ledger's seconds): when something of the token
        /// not taken may become due; nil when nothing of it is unfinished.
        case nothing(nextDueAt: Int64?)
        /// The token cannot deliver (dead, or claimed elsewhere): its operations were paused.
        case paused(TokenID)
        /// Its stored file does not open with this engine's key: the operations wait, pending.
        case unreadable(TokenID)
        /// Its stored file is gone: the claimed operations were given up (this many).
        case fileGone(failed: Int)
    }

    /// Reads the token's window, takes what may go now (`LaneRound`) and claims it for this
    /// worker. Read again each round: a delivery (a lane's, or a sync) may change its state.
    func claimRound(_ tokenId: TokenID, tenant: Tenant) throws -> RoundClaim {
        let token = try ledger.requireToken(tenant: tenant.id, String(tokenId.rawValue))
        guard token.state.deliversToApple else {
            try ledger.pauseOperations(token: token.id)
            return .paused(token.id)
        }
        var window = try ledger.deliveryWindow(token: token.id, limit: settings.deliveryWindowOperationsMax)
        // An operation committed after this worker last split the outbox (a batch that landed
        // during a delivery) may be larger than one request may carry: Apple would refuse it.
        let limits = limitsCache?.limits ?? ServiceLimits.appleDefaults
        if window.contains(where: { $0.state == .pending && $0.serials.count > limits.requestMax(of: $0) }) {
            try ledger.splitOversizedOperations(limits)
            window = try ledger.deliveryWindow(token: token.id, limit: settings.deliveryWindowOperationsMax)
        }
        let candidates = window.map(\.candidate)
        let pools = try poolsShortOfRoom(tenant: tenant.id, token: token.id, window: candidates)
        let taken = Set(LaneRound.take(candidates, now: now, operationsMax: settings.laneOperationsPerRoundMax, pools: pools))
        // Another worker may have taken some since the window was read: only the claimed go.
        let claimed = taken.isEmpty ? [] : try ledger.claim(window.filter { taken.contains($0.id) }, owner: workerId, leaseSeconds: settings.leaseSeconds)
        guard !claimed.isEmpty else {
            return .nothing(nextDueAt: LaneRound.nextDueAt(candidates, windowFull: window.count >= settings.deliveryWindowOperationsMax, now: now))
        }
        guard let sealed = try ledger.tokenSecret(token: token.id) else {
            for operation in claimed { try ledger.failOperation(operation, owner: workerId, error: "the token's file is gone") }
            return .fileGone(failed: claimed.count)
        }
        do {
            return .claimed(claimed, token: token, bearer: try secrets().open(sealed))
        } catch {
            // Another key, or a damaged file: nothing is lost, the operations wait (pending,
            // not given up) and go out once the right key opens the file again.
            for operation in claimed { try ledger.releaseLease(operation.id, owner: workerId) }
            return .unreadable(token.id)
        }
    }

    /// One step of one claimed operation: ask Apple (unless Apple already told us, by a
    /// notification: `told`), let the machine decide, perform it.
    func deliver(_ operation: OutboxOperation, token: TokenRecord, tenant: Tenant, apple: any AppsAndBooksService,
                 bearer: String, answer told: AppleAnswer? = nil, turn: CallTurn = .waitsForSlot) async throws -> (LaneNext, LaneOutcome) {
        var outcome = LaneOutcome()
        let asked: Asked = if let told { .answered(told) } else { try await ask(apple, operation, bearer: bearer, token: token, tenant: tenant, turn: turn) }
        var answer: AppleAnswer
        switch asked {
        case .answered(let answered): answer = answered
        case .claimedElsewhere:
            // Apple reports another server on the location: the token was paused.
            outcome.report.pausedTokens.append(token.id)
            return (stopLane(token.id), outcome)
        case .notCalled:
            // The lane ended (Apple said wait, or the token died) or the worker is stopping
            // while this call waited for its turn: another round, or worker, takes it.
            try ledger.releaseLease(operation.id, owner: workerId)
            return (.stop, outcome)
        }
        // At most two decisions: Apple's answer, then (after `.verify`) what Apple holds.
        for _ in 0..<2 {
            let action = OutboxMachine.next(operation.step, answer: answer, now: now, settings: settings.outbox)
            switch action {
            case .awaitEvent(let eventId, let pollAt):
                // A first poll due now is asked at once, under the same lease renewed: claiming
                // the operation again in the next round read it back whole (its 1,000 serials)
                // and cost a claim and two commits more per operation.
                let pollsNow = pollAt <= now && !delivery.stopping
                let sentAt = now
                guard try ledger.markSent(operation.id, owner: workerId, eventId: eventId, pollAt: pollAt,
                                          keepingLeaseFor: pollsNow ? settings.leaseSeconds : nil) else { break }
                outcome.report.sent += 1
                delivery.sent += 1
                delivery.progress?(PushProgress(sent: delivery.sent, toSend: delivery.toSend, tokensWaiting: delivery.lanesRunning))
                guard pollsNow else { break }
                let sent = operation.sent(eventId: eventId, at: sentAt, pollAt: pollAt, leaseExpiresAt: sentAt + settings.leaseSeconds)
                if turn == .granted { return (.pollNow(sent), outcome) }
                let (next, polled) = try await deliver(sent, token: token, tenant: tenant, apple: apple, bearer: bearer)
                outcome.merge(polled)
                return (next, outcome)
            case .pollAgain(let at, let note, let countsAsAttempt):
                try ledger.reschedule(operation.id, owner: workerId, at: at, resend: false, error: note, countsAsAttempt: countsAsAttempt)
            case .resend(let at, let reason, let countsAsAttempt, let resync):
                try ledger.reschedule(operation.id, owner: workerId, at: at, resend: true, error: reason, countsAsAttempt: countsAsAttempt)
                if countsAsAttempt { outcome.report.retrying += 1 }
                if resync { outcome.resync.insert(token.id) }
            case .backOff(let until, let resend, let reason):
                try ledger.reschedule(operation.id, owner: workerId, at: until, resend: resend, error: reason, countsAsAttempt: true)
                outcome.report.retrying += 1
                outcome.report.tokensBackingOff = 1
                delivery.heldUntil[token.id] = max(until, delivery.heldUntil[token.id] ?? .min)
                return (stopLane(token.id), outcome)
            case .complete(let released, let reason, let resync, let requeue):
                outcome.report.released += try workflows.completeOperation(operation, owner: workerId, refusedSerials: released, refusal: reason,
                                                                         requeue: requeue)
                outcome.report.completed += 1
                if resync { outcome.resync.insert(token.id) }
                if operation.kind == .registerUsers {
                    await readUsersBack(operation.serials.filter { !released.contains($0) }, token: token, bearer: bearer, apple: apple)
                }
            case .verify(let reason, let shortOfLicences):
                guard let held = try await serialsAppleHolds(operation, bearer: bearer, token: token, apple: apple) else {
                    try ledger.reschedule(operation.id, owner: workerId, at: now + settings.pollIntervalSeconds, resend: false,
                                          error: "could not read Apple's assignments to check \(reason)", countsAsAttempt: true)
                    outcome.report.retrying += 1
                    return (stopLane(token.id), outcome)
                }
                answer = .holds(held, reason: reason, shortOfLicences: shortOfLicences)
                continue
            case .pauseToken(let event, let reason):
                try ledger.releaseLease(operation.id, owner: workerId)
                try moveToken(token, on: event, reason: "Apple answered \(reason)")
                outcome.report.pausedTokens.append(token.id)
                return (stopLane(token.id), outcome)
            case .giveUp(let reason):
                try ledger.failOperation(operation, owner: workerId, error: reason)
                outcome.report.failed += 1
            }
            return (.goOn, outcome)
        }
        preconditionFailure("the outbox machine asked to verify twice")
    }

    /// Ends a token's lane after this round: its calls not yet made are not made.
    private func stopLane(_ token: TokenID) -> LaneNext {
        delivery.lanesEnding.insert(token)
        return .stop
    }

    /// What came of asking Apple for an operation.
    private enum Asked: Sendable {
        case answered(AppleAnswer)
        /// The answer shows another server holds the location (the token is then paused).
        case claimedElsewhere
        /// The call was not made: its lane ended, or the worker is stopping.
        case notCalled
    }

    /// One Apple call for an operation: its send, or its event's status.
    private func ask(_ apple: any AppsAndBooksService, _ operation: OutboxOperation, bearer: String,
                     token: TokenRecord, tenant: Tenant, turn: CallTurn) async throws -> Asked {
        do {
            switch operation.state {
            case .pending:
                let wireAsset = WireAssetKey(adamId: operation.asset.adamId, pricingParam: operation.asset.pricingParam.rawValue)
                // Serials or users, never both in one request.
                let serials = operation.subject == .devices ? operation.serials : nil
                let users = operation.subject == .users ? operation.serials : nil
                let sent = try await withTurn(turn, token.id) {
                    switch operation.kind {
                    case .associate:
                        try await apple.associate(token: bearer, AssociationRequest(assets: [wireAsset], serialNumbers: serials, clientUserIds: users))
                    case .disassociate:
                        try await apple.disassociate(token: bearer, AssociationRequest(assets: [wireAsset], serialNumbers: serials, clientUserIds: users))
                    case .revoke: try await apple.revoke(token: bearer, RevokeRequest(serialNumbers: serials, clientUserIds: users))
                    case .registerUsers, .retireUsers: try await userRecordsCall(apple, operation, bearer: bearer, tenant: tenant)
                    }
                }
                guard let answer = sent else { return .notCalled }
                guard try noteOwnership(answer.mdmInfo, token: token, tenant: tenant) else { return .claimedElsewhere }
                return .answered(.accepted(eventId: answer.eventId))
            case .sent:
                guard let eventId = operation.eventId else {
                    return .answered(.refused(.unknownEvent, message: "the operation was recorded as sent without an event id", retryAfterSeconds: nil))
                }
                guard let status = try await withTurn(turn, token.id, { try await apple.eventStatus(token: bearer, eventId: eventId) }) else {
                    return .notCalled
                }
                guard try noteOwnership(status.mdmInfo, token: token, tenant: tenant) else { return .claimedElsewhere }
                return .answered(.event(EventReport(status)))
            case .done, .failed, .paused:
                preconditionFailure("only pending or sent operations are claimed for delivery")
            }
        } catch let error as AppleServiceError {
            return .answered(.refused(error.verdict, message: error.description, retryAfterSeconds: error.retryAfterSeconds))
        } catch let error as AllotError {
            throw error
        } catch {
            // The network or the client failed. Its type names it; its text might carry a URL.
            return .answered(.unreachable("\(type(of: error))"))
        }
    }

    /// Which of the operation's serials Apple holds for its asset on this token, read from
    /// Apple's assignments; nil when Apple could not be read.
    private func serialsAppleHolds(_ operation: OutboxOperation, bearer: String, token: TokenRecord,
                                   apple: any AppsAndBooksService) async throws -> Set<String>? {
        let assignments: [WireAssignment]
        do { assignments = try await readAllAssignments(token: token, bearer: bearer, apple: apple).items } catch is AllotError { return nil }
        let wanted = Set(operation.serials)
        return Set(assignments.compactMap { assignment in
            guard assignment.adamId == operation.asset.adamId, assignment.pricingParam == operation.asset.pricingParam.rawValue,
                  let held = operation.subject == .devices ? assignment.serialNumber : assignment.clientUserId, wanted.contains(held) else { return nil }
            return held
        })
    }

    /// Runs one Apple call of a lane in its turn; nil when it is no longer to be made.
    private func withTurn<T: Sendable>(_ turn: CallTurn, _ token: TokenID, _ call: () async throws -> T) async throws -> T? {
        switch turn {
        case .waitsForSlot: return try await withCallSlot(token, call)
        case .granted:
            // Paced and bounded by the scheduler already; it grants nothing once stopping, but a
            // grant may have come just before.
            guard !delivery.stopping else { return nil }
            return try await call()
        }
    }

    /// Runs one Apple call of a lane: paced to the token's rate, and within the bound on calls
    /// in flight over all lanes. Nil when, its turn come, the call is no longer to be made: its
    /// lane ended, Apple told the token to wait, or the worker is stopping.
    private func withCallSlot<T: Sendable>(_ token: TokenID, _ call: () async throws -> T) async throws -> T? {
        await pace(token)
        while delivery.callsInFlight >= settings.appleCallsInFlightMax {
            await withCheckedContinuation { delivery.slotWaiters.append($0) }
        }
        guard !delivery.stopping, !delivery.lanesEnding.contains(token), (delivery.heldUntil[token] ?? .min) <= now else {
            if !delivery.slotWaiters.isEmpty, delivery.callsInFlight < settings.appleCallsInFlightMax { delivery.slotWaiters.removeFirst().resume() }
            return nil
        }
        delivery.callsInFlight += 1
        defer {
            delivery.callsInFlight -= 1
            if !delivery.slotWaiters.isEmpty { delivery.slotWaiters.removeFirst().resume() }
        }
        return try await call()
    }

    /// Moves a token along its life (`TokenLife`: the one place its state rule is written) and
    /// pauses or resumes its outbox to match. The outbox follows the state the token ends in,
    /// changed or not: a renewal of an active token also resumes anything left paused, and a
    /// second word of its death pauses again what a racing call may have left pending.
    func moveToken(_ token: TokenRecord, on event: TokenEvent, ownerName: String? = nil, reason: String) throws {
        if token.state == .removed {
            // A removed token that died cannot drain: its operations end here, so its secret
            // can be erased. Apple keeps counting those licences until an admin reclaims them.
            try ledger.failOperations(token: token.id, error: "the removed token can no longer deliver (\(reason))")
            return
        }
        let state: TokenState
        if let next = TokenLife.next(token.state, on: event) {
            try ledger.setTokenState(tenant: token.tenantId, token: token.id, next, ownerName: ownerName, reason: reason)
            state = next
        } else {
            // Claimed again by a different server: the state stays, the owner shown changes.
            if event == .claimedElsewhere, let ownerName, ownerName != token.ownerName {
                try ledger.setTokenState(tenant: token.tenantId, token: token.id, token.state, ownerName: ownerName, reason: reason)
            }
            state = token.state
        }
        if state.deliversToApple { try ledger.resumeOperations(token: token.id) } else { try ledger.pauseOperations(token: token.id) }
    }

    /// Apple's limits, re-read from service/config every few minutes; Apple's published
    /// defaults when it cannot be read.
    func liveLimits(_ apple: any AppsAndBooksService) async -> ServiceLimits {
        if let cached = limitsCache, cached.readAt + settings.serviceConfigRefreshSeconds > now { return cached.limits }
        let limits = (try? await apple.serviceConfig().limits) ?? ServiceLimits.appleDefaults
        limitsCache = (limits, now)
        return limits
    }
}
