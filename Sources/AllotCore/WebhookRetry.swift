/// What becomes of a webhook's next event after one try to deliver it (issue 12, point 4).
///
/// A webhook delivers its tenant's events one at a time, in the order they were recorded: the
/// event after it waits while one is being retried, so a receiver never sees them out of order.
/// A failed try is retried with exponential backoff (and never sooner than the receiver's
/// `Retry-After`) until `giveUpAfterSeconds` after the event happened; then it is given up,
/// together with every later event whose window has closed as well, so a receiver that was
/// down for days costs one failed try, not one per missed event.
public struct WebhookRetryPolicy: Sendable, Hashable {
    /// The waits between tries: 5 s, 10 s, 20 s… at most an hour, so a receiver down for a day
    /// is tried about 30 times per event, not thousands.
    public var backoff: Backoff
    /// How long after it happened an event is still retried (issue 12: 24 hours).
    public var giveUpAfterSeconds: Int64

    public static let giveUpAfterSecondsDefault: Int64 = 86_400

    public init(backoff: Backoff = Backoff(baseSeconds: 5, delaySecondsMax: 3_600),
                giveUpAfterSeconds: Int64 = Self.giveUpAfterSecondsDefault) {
        precondition(giveUpAfterSeconds > 0, "an event is retried for some time")
        self.backoff = backoff
        self.giveUpAfterSeconds = giveUpAfterSeconds
    }

    /// What the receiver's answer to one try was.
    public enum Result: Sendable, Hashable {
        /// A 2xx answer: the receiver has the event.
        case delivered
        /// Any other answer, a redirect, a timeout or no connection; with its `Retry-After`.
        case failed(retryAfterSeconds: Int?)
    }

    /// What the webhook's cursor does next.
    public enum Step: Sendable, Hashable {
        /// The event reached the receiver: the cursor moves past it.
        case advance
        /// The same event goes again at `at` (seconds since 1970); `attempts` tries have failed.
        case retry(at: Int64, attempts: Int)
        /// The event's window closed: the cursor moves past it and past every following event
        /// recorded at or before `closedBefore` (their windows are closed too), reported as one event.
        case giveUp(closedBefore: Int64)
    }

    /// The step after a try of the event recorded at `eventAt`, when `failedBefore` earlier
    /// tries of it had failed.
    public func step(after result: Result, failedBefore: Int, eventAt: Int64, now: Int64) -> Step {
        precondition(failedBefore >= 0, "a count of failed tries is not negative")
        guard case .failed(let retryAfterSeconds) = result else { return .advance }
        let deadline = eventAt + giveUpAfterSeconds
        if now >= deadline { return .giveUp(closedBefore: now - giveUpAfterSeconds) }
        let attempts = failedBefore + 1
        let wait = backoff.delaySeconds(afterAttempt: attempts, retryAfterSeconds: retryAfterSeconds)
        // The last try is made when the window closes, not skipped because the wait ran past it.
        return .retry(at: min(now + wait, deadline), attempts: attempts)
    }
}
