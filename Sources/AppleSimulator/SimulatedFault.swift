/// A failure the simulator answers instead of doing the call, to test retries and backoff.
public enum SimulatedFault: Codable, Sendable, Hashable {
    /// HTTP 503, error 9729, with `Retry-After` seconds.
    case temporarilyUnavailable(retryAfterSeconds: Int)
    /// HTTP 429, error 9646: back off exponentially.
    case tooManyRequests
    /// HTTP 500, error 9603: resend.
    case internalError
}
