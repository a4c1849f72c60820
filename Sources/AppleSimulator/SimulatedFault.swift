/// A failure the simulator answers instead of doing the call, to test retries and backoff.
public enum SimulatedFault: Codable, Sendable, Hashable {
    /// HTTP 503, error 9729, with `Retry-After` seconds.
    case temporarilyUnavailable(retryAfterSeconds: Int)
    /// HTTP 429, error 9646: back off exponentially.
    case tooManyRequests
    /// HTTP 500, error 9603: resend.
    case internalError
    /// Error 9644: Apple's service is in maintenance (HTTP 503, with `Retry-After` seconds).
    case maintenance(retryAfterSeconds: Int)
    /// HTTP 410, error 9634: the resource is gone.
    case gone
    /// HTTP 403, error 9637: forbidden.
    case forbidden
    /// HTTP 403, error 9647: forbidden for this token (e.g. a read-only Content Manager).
    case forbiddenForToken
}
