/// The engine's timing and naming, with Apple's guidance as defaults. Tests shorten the waits.
public struct EngineSettings: Sendable {
    /// Poll an event no faster than this while Apple says PENDING (APPLE.md: 30 s).
    public var pollIntervalSeconds: Int64 = 30
    /// The first poll after Apple accepted a request.
    public var firstPollDelaySeconds: Int64 = 0
    /// Send a request again if its event is still PENDING after this long (APPLE.md: 10 min).
    public var resendAfterSeconds: Int64 = 600
    /// Re-read Apple's limits this often (APPLE.md: limits are dynamic, ~5 min).
    public var serviceConfigRefreshSeconds: Int64 = 300
    public var backoff = Backoff()
    /// Rounds of delivery one `push` makes before it returns what is still waiting.
    public var pushRoundsMax = 40
    /// Restarts of a paged read when Apple's `versionId` keeps moving.
    public var pagedReadRestartsMax = 5
    /// Pages of one paged read, a bound on a runaway answer.
    public var pagesMax = 10_000
    /// How this server names itself in `mdmInfo`.
    public var serverName = "allot"
    /// Whether to sleep to stay under Apple's `maxRequestPerSecond` per token.
    public var paceRequests = true

    public init() {}
}

import AllotCore
