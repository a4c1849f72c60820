/// The outbox as a pure state machine (DESIGN.md, "Decisions are pure values"): an operation,
/// the time, Apple's answer and the settings give the next action. The engine performs the
/// action (one ledger write, or one more Apple call); nothing here does I/O, so every rule is
/// tested without a network (`OutboxMachineTests`).

/// The timings the machine follows.
public struct OutboxSettings: Sendable, Hashable {
    /// Poll an event no faster than this while Apple says PENDING (APPLE.md: 30 s).
    public var pollIntervalSeconds: Int64 = 30
    /// The first poll after Apple accepted a request.
    public var firstPollDelaySeconds: Int64 = 0
    /// Send a request again if its event is still PENDING after this long (APPLE.md: 10 min).
    public var resendAfterSeconds: Int64 = 600
    public var backoff = Backoff()

    public init() {}
}

/// What Apple's error numbers mean to delivery. The Apple module translates its numbers to
/// these in one place; the machine never sees a number.
public enum AppleVerdict: Sendable, Hashable, CaseIterable {
    /// 9621, 9625, 9601/9622/9722: the token cannot be used any more.
    case tokenExpired, tokenRevoked, tokenInvalid
    /// 9603, 9646 (429), 9729 (503), 9644, any 5xx: Apple asks us to come back later.
    case retryLater
    /// 9602, 9700–9705, 9723: the request was wrong, a bug of ours.
    case ourBug
    /// 9709: not enough licences.
    case notEnoughLicences
    /// 9616 (v1): the licence is already assigned: what an associate wanted.
    case alreadyAssigned
    /// 9610 (v1): licence not found: what a disassociate wanted.
    case licenceNotFound
    /// 9708: Apple does not know the eventId.
    case unknownEvent
    /// 9706 not revocable, 9707 not device-assignable.
    case itemRefused
    case other
}

/// An operation as the machine sees it.
public struct OutboxStep: Sendable, Hashable {
    public var kind: OutboxKind
    /// `.pending` (about to be sent) or `.sent` (its event polled).
    public var state: OutboxState
    /// Its serials, or its users' clientUserIds (`subject`).
    public var serials: [String]
    /// Attempts so far (sends, and failed polls).
    public var attempts: Int
    /// When Apple last accepted it.
    public var sentAt: Int64?
    public var subject: OutboxSubject

    public init(kind: OutboxKind, state: OutboxState, serials: [String], attempts: Int, sentAt: Int64?, subject: OutboxSubject = .devices) {
        self.kind = kind
        self.state = state
        self.serials = serials
        self.attempts = attempts
        self.sentAt = sentAt
        self.subject = subject
    }
}

/// One item failure of an event, translated.
public struct EventItemFailure: Sendable, Hashable {
    public var verdict: AppleVerdict
    public var message: String
    /// The serials Apple names, nil when it names none (APPLE.md: `errorInfo` is present "in
    /// some cases").
    public var serials: [String]?
    /// Whether Apple names users (`clientUserIds`) only: about nothing a device operation asked.
    public var namesUsersOnly: Bool
    /// The users Apple names, nil when it names none.
    public var clientUserIds: [String]?

    public init(verdict: AppleVerdict, message: String, serials: [String]?, namesUsersOnly: Bool = false, clientUserIds: [String]? = nil) {
        self.verdict = verdict
        self.message = message
        self.serials = serials
        self.namesUsersOnly = namesUsersOnly
        self.clientUserIds = clientUserIds
    }

    /// What the failure names of an operation's subject: its serials, or its users.
    public func named(_ subject: OutboxSubject) -> [String]? {
        switch subject {
        case .devices: serials
        case .users: clientUserIds
        }
    }

    /// Whether the failure names only the other subject: about nothing the operation asked.
    public func namesOnlyTheOther(than subject: OutboxSubject) -> Bool {
        switch subject {
        case .devices: namesUsersOnly
        case .users: (clientUserIds ?? []).isEmpty && !(serials ?? []).isEmpty
        }
    }
}

/// `GET /status`, translated.
public struct EventReport: Sendable, Hashable {
    public enum Phase: Sendable, Hashable { case pending, complete, failed, unrecognised(String) }
    public var phase: Phase
    public var numRequested: Int
    public var numCompleted: Int
    public var failures: [EventItemFailure]

    public init(phase: Phase, numRequested: Int, numCompleted: Int, failures: [EventItemFailure]) {
        self.phase = phase
        self.numRequested = numRequested
        self.numCompleted = numCompleted
        self.failures = failures
    }
}

/// Apple's answer to the last call made for an operation.
public enum AppleAnswer: Sendable, Hashable {
    /// The send was accepted with this event.
    case accepted(eventId: String)
    /// A status poll answered.
    case event(EventReport)
    /// Apple answered an error number (whatever the HTTP status).
    case refused(AppleVerdict, message: String, retryAfterSeconds: Int?)
    /// The network or the client failed before Apple answered.
    case unreachable(String)
    /// After `.verify`: which of the operation's serials Apple holds for its asset now, and
    /// whether the verify was asked because Apple was short of licences (9709).
    case holds(Set<String>, reason: String, shortOfLicences: Bool = false)
}

/// What the engine does next with an operation.
public enum OutboxAction: Sendable, Hashable {
    /// Apple accepted it: poll the event from `pollAt`.
    case awaitEvent(eventId: String, pollAt: Int64)
    /// Poll the same event again at `at`.
    case pollAgain(at: Int64, note: String?, countsAsAttempt: Bool)
    /// Send it again at `at` (re-sending is harmless: associations are idempotent). With
    /// `resync`, the token's counts are read again from Apple.
    case resend(at: Int64, reason: String, countsAsAttempt: Bool, resync: Bool)
    /// Apple asked us to slow down: nothing goes to this token before `until`; the operation
    /// is sent again (`resend`) or polled again then.
    case backOff(until: Int64, resend: Bool, reason: String)
    /// Apple finished: the serials not in `released` are done; `released` (an associate's
    /// serials Apple did not grant) are given back in the ledger. With `requeue` Apple refused
    /// them for want of licences (9709): the devices were answered `assigned`, so they go back
    /// to the app's queue of unmet demand, first in line, rather than silently holding nothing.
    case complete(released: Set<String>, reason: String?, resync: Bool, requeue: Bool = false)
    /// Apple did not say which serials failed: read its assignments of the asset, then answer
    /// `.holds` (with `shortOfLicences` passed on). Nothing is released on a guess.
    case verify(reason: String, shortOfLicences: Bool = false)
    /// The token cannot deliver: this happens to it (`TokenLife`) and its operations wait.
    case pauseToken(TokenEvent, reason: String)
    /// Retrying cannot help; recorded loudly.
    case giveUp(reason: String)
}

public enum OutboxMachine {
    public static func next(_ operation: OutboxStep, answer: AppleAnswer, now: Int64, settings: OutboxSettings) -> OutboxAction {
        precondition(operation.state.meetsApple, "only pending or sent operations meet Apple")
        let attempt = operation.attempts + 1
        switch answer {
        case .accepted(let eventId):
            return .awaitEvent(eventId: eventId, pollAt: now + settings.firstPollDelaySeconds)
        case .unreachable(let what):
            // Never given up on: Apple being out of reach says nothing about the operation.
            let delay = settings.backoff.delaySeconds(afterAttempt: attempt, retryAfterSeconds: nil)
            return .backOff(until: now + delay, resend: operation.state == .pending, reason: "Apple could not be reached (\(what))")
        case .refused(let verdict, let message, let retryAfter):
            return refused(operation, verdict, message: message, retryAfterSeconds: retryAfter, now: now, settings: settings)
        case .event(let report):
            return event(operation, report, now: now, settings: settings)
        case .holds(let held, let reason, let shortOfLicences):
            let released = operation.kind == .associate ? Set(operation.serials).subtracting(held) : []
            return .complete(released: released, reason: reason, resync: true, requeue: shortOfLicences && !released.isEmpty)
        }
    }

    private static func refused(_ operation: OutboxStep, _ verdict: AppleVerdict, message: String, retryAfterSeconds: Int?,
                                now: Int64, settings: OutboxSettings) -> OutboxAction {
        let attempt = operation.attempts + 1
        let reason = "Apple refused: \(message)"
        switch verdict {
        case .tokenExpired: return .pauseToken(.expired, reason: message)
        case .tokenRevoked: return .pauseToken(.revokedByApple, reason: message)
        case .tokenInvalid: return .pauseToken(.rejected, reason: message)
        case .retryLater, .other:
            if attempt >= settings.backoff.attemptsMax { return .giveUp(reason: "gave up after \(attempt) attempts: \(message)") }
            let delay = settings.backoff.delaySeconds(afterAttempt: attempt, retryAfterSeconds: retryAfterSeconds)
            return .backOff(until: now + delay, resend: operation.state == .pending, reason: reason)
        case .unknownEvent:
            // Apple lost the event (or never had it): whether it was applied is unknown, so the
            // request goes again (idempotent) and the counts are read again.
            if attempt >= settings.backoff.attemptsMax { return .giveUp(reason: "gave up after \(attempt) attempts: \(message)") }
            return .resend(at: now, reason: "Apple does not know the event any more; sent again", countsAsAttempt: true, resync: true)
        case .alreadyAssigned where operation.kind == .associate, .licenceNotFound where operation.kind != .associate:
            return .complete(released: [], reason: nil, resync: false)
        case .notEnoughLicences where operation.kind == .associate:
            // Refused whole, but an earlier send of the same operation may have been applied:
            // ask Apple before giving anything back. Delivery sends an associate only when
            // Apple has room (`DeliveryCapacity`), so this is Apple's total having dropped.
            return .verify(reason: reason, shortOfLicences: true)
        case .ourBug, .itemRefused, .notEnoughLicences, .alreadyAssigned, .licenceNotFound:
            return .giveUp(reason: reason)
        }
    }

    private static func event(_ operation: OutboxStep, _ report: EventReport, now: Int64, settings: OutboxSettings) -> OutboxAction {
        let attempt = operation.attempts + 1
        switch report.phase {
        case .pending:
            if (operation.sentAt ?? now) + settings.resendAfterSeconds <= now {
                return .resend(at: now, reason: "still PENDING after \(settings.resendAfterSeconds) s; sent again", countsAsAttempt: false, resync: false)
            }
            return .pollAgain(at: now + settings.pollIntervalSeconds, note: nil, countsAsAttempt: false)
        case .unrecognised(let status):
            if attempt >= settings.backoff.attemptsMax { return .giveUp(reason: "gave up after \(attempt) attempts: unknown event status \(status)") }
            return .pollAgain(at: now + settings.pollIntervalSeconds, note: "unknown event status \(status)", countsAsAttempt: true)
        case .complete, .failed:
            break
        }
        // 9616 on an associate and 9610 on a disassociate are the outcome we wanted (re-sent
        // operations meet them); a failure naming only users is about nothing we sent.
        let refused = report.failures.filter { failure in
            !(failure.namesOnlyTheOther(than: operation.subject)
              || (failure.verdict == .alreadyAssigned && operation.kind == .associate)
              || (failure.verdict == .licenceNotFound && operation.kind != .associate))
        }
        let passing = refused.contains { $0.verdict == .retryLater }
        if report.phase == .failed && (passing || report.failures.isEmpty) {
            // Apple failed for a passing reason (9603, 9644…) or named nothing: send it again.
            if attempt >= settings.backoff.attemptsMax { return .giveUp(reason: "gave up after \(attempt) attempts: Apple's event failed") }
            let delay = settings.backoff.delaySeconds(afterAttempt: attempt, retryAfterSeconds: nil)
            return .resend(at: now + delay, reason: "Apple's event failed", countsAsAttempt: true, resync: false)
        }
        let reason = refused.first.map { "Apple refused: \($0.message)" }
        let resync = refused.contains { $0.verdict == .notEnoughLicences }
        let shortOfLicences = refused.allSatisfy { $0.verdict == .notEnoughLicences }
        guard operation.kind == .associate else {
            // A disassociate Apple refused (9706) leaves the licence at Apple; the ledger gave it
            // back already. Recorded on the operation.
            return .complete(released: [], reason: reason, resync: resync)
        }
        guard !refused.isEmpty else { return .complete(released: [], reason: reason, resync: resync) }
        // Built only when Apple refused something: most events refuse nothing, and the set of
        // 1,000 serials was 2.5% of delivery's CPU (perf, release, 1,000 tokens).
        var released = Set<String>()
        let ours = Set(operation.serials)
        for failure in refused {
            if let named = failure.named(operation.subject), !named.isEmpty {
                released.formUnion(ours.intersection(named))
            } else if report.numCompleted <= 0 {
                // Apple completed nothing of the request: it holds none of it from this event.
                released.formUnion(ours)
            } else if report.numCompleted < report.numRequested {
                // Some done, some not, and Apple does not say which.
                return .verify(reason: reason ?? "Apple did not say which serials failed", shortOfLicences: shortOfLicences)
            }
        }
        return .complete(released: released, reason: reason, resync: resync, requeue: shortOfLicences && !released.isEmpty)
    }
}
