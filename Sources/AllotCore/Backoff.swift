/// When to try an Apple call again after it failed for a passing reason (APPLE.md, Limits):
/// exponential from `baseSeconds`, capped, and never sooner than Apple's `Retry-After`.
public struct Backoff: Sendable, Hashable {
    public var baseSeconds: Int64 = 2
    public var delaySecondsMax: Int64 = 900
    /// After this many attempts an operation is failed and reported instead of retried.
    public var attemptsMax = 20

    public init(baseSeconds: Int64 = 2, delaySecondsMax: Int64 = 900, attemptsMax: Int = 20) {
        self.baseSeconds = baseSeconds
        self.delaySecondsMax = delaySecondsMax
        self.attemptsMax = attemptsMax
    }

    /// The delay before attempt `attempt + 1`, given Apple's Retry-After if it sent one.
    public func delaySeconds(afterAttempt attempt: Int, retryAfterSeconds: Int?) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 30)
        let exponential = min(delaySecondsMax, baseSeconds << Int64(exponent))
        return max(exponential, Int64(retryAfterSeconds ?? 0))
    }
}
