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
    /// Apple calls in flight at once over every token's lane (`AppleCallCapacity`: Apple's
    /// limit is per token, so this bounds allot's own sockets and memory, not Apple's rate).
    public var appleCallsInFlightMax = AppleCallCapacity.callsInFlightDefault
    /// How long a worker holds an operation it claimed: longer than one Apple call may take
    /// (the HTTP client's deadline), so a live worker never loses its claim mid-call, and short
    /// enough that a crashed worker's operations go out again soon.
    public var leaseSeconds: Int64 = 120
    /// A lane reads this many of its token's oldest unfinished operations at a time to decide
    /// which may go (`DeliveryOrder`). Larger than what can wait on a poll at once (15 calls/s
    /// × 30 s), so operations waiting for their poll never hide sendable ones.
    public var deliveryWindowOperationsMax = 1_000
    /// How a webhook's failed tries are retried, and when an event is given up.
    public var webhookRetry = WebhookRetryPolicy()
    /// Where webhooks may post (`WebhookTarget`): https only, nothing inside, unless the
    /// operator allows it (`allot serve --webhook-allow-http`, `--webhook-allow`).
    public var webhookTargets = WebhookTargetPolicy()
    /// Where the engine's counters go (GET /metrics); by default the process's metrics system.
    public var metrics = EngineMetrics()
    /// A lane claims at most this many operations a round and calls Apple for them side by side
    /// (`LaneRound.operationsMax`: two seconds of calls at Apple's example rate).
    public var laneOperationsPerRoundMax = LaneRound.operationsMax

    /// What the outbox machine follows.
    public var outbox: OutboxSettings {
        var outbox = OutboxSettings()
        outbox.pollIntervalSeconds = pollIntervalSeconds
        outbox.firstPollDelaySeconds = firstPollDelaySeconds
        outbox.resendAfterSeconds = resendAfterSeconds
        outbox.backoff = backoff
        return outbox
    }

    public init() {}
}

import AllotCore
import AllotStore
import AppleAppsAndBooks
