import AppleAppsAndBooks
import Foundation

// The simulator's world, one call at a time. `SimulatorState` is what a call sees inside its
// transaction: the settings and the sequence (one row), and row-by-row access to locations,
// assets, assignments and events (`SimulatorStore`). Every rule of Apple's service is a method
// on it (the `SimulatorState+…` files); the actor only opens the transaction and commits it.

final class SimulatorState {
    let store: SimulatorStore
    let rateLimiter: RequestRateLimiter
    var settings: SimulatorSettings {
        didSet { settingsChanged = true }
    }
    private(set) var sequence: Int
    private var settingsChanged = false
    private let sequenceAtStart: Int
    /// Notifications recorded by this call, delivered after it commits.
    var notificationsQueued = false

    init(store: SimulatorStore, rateLimiter: RequestRateLimiter) throws {
        self.store = store
        self.rateLimiter = rateLimiter
        let meta = try store.meta()
        self.settings = meta.settings
        self.sequence = meta.sequence
        self.sequenceAtStart = meta.sequence
    }

    func nextSequence() -> Int {
        sequence += 1
        return sequence
    }

    /// Writes the one row back, only when something in it moved.
    func finish() throws {
        if settingsChanged { try store.saveSettings(settings) }
        if sequence != sequenceAtStart { try store.saveSequence(sequence) }
    }
}

/// What tests and the CLI tune: limits, paging, event delay, injected faults, latency, rules.
struct SimulatorSettings: Codable, Sendable, Equatable {
    var limits: ServiceLimits
    var pageSize: Int
    /// How many `eventStatus` polls a new event answers PENDING before it completes.
    var pendingPolls: Int
    /// Faults waiting for the next calls, consumed front to back.
    var pendingFaults: [PendingFault]
    /// How many of the next new events are forced to end FAILED.
    var eventsToFail: Int
    /// Added to every answer of Apple's paths, like a distant Apple.
    var latencyMilliseconds: Int = 0
    /// Each answer is delayed by latency ± up to this much, at random.
    var jitterMilliseconds: Int = 0
    /// Answer 9646 (HTTP 429) above `limits.maxRequestPerSecond` calls per second per token.
    /// On by default, as at Apple: whoever tests against the simulator meets the limit without
    /// knowing to ask for it. Tests that drive the engine unpaced, for speed, turn it off (the
    /// seed's `"enforceRequestRate": false`, `POST /_sim/request-rate`, or
    /// `sim serve --no-enforce-request-rate`).
    var enforceRequestRate: Bool = true
    /// Send every notification twice, as Apple may, so receivers must drop duplicates.
    var duplicateNotifications: Bool = false

    static let defaults = SimulatorSettings(
        limits: .appleDefaults,
        pageSize: SimulatorDefaults.pageSize,
        pendingPolls: 0,
        pendingFaults: [],
        eventsToFail: 0
    )
}

struct PendingFault: Codable, Sendable, Equatable {
    var fault: SimulatedFault
    var remainingCalls: Int
}

enum SimulatorDefaults {
    /// Apple chooses its page size ("hundreds to 1000"); tests set a small one.
    static let pageSize = 1000
    /// Events kept for `eventStatus` before the oldest finished ones are dropped.
    static let eventsKeptMax = 10_000
    /// Finished events are counted for pruning once every this many sequence numbers.
    static let pruneEverySequences = 64
    /// A token downloaded (or renewed) from Apple is valid one year.
    static let tokenLifetimeSeconds: TimeInterval = 365 * 24 * 60 * 60
    /// Apple puts `tokenExpirationDate` in its answers only this close to the expiry.
    static let tokenExpirationShownSeconds: TimeInterval = 15 * 24 * 60 * 60
    /// Apple's `totalCount` of a free asset asked without `unlimited`.
    static let unlimitedTotalCount = 2_147_483_647
    /// A bound on the simulated network delay.
    static let latencyMillisecondsMax = 60_000
}

enum TokenStatus: String, Codable, Sendable, Equatable {
    case active
    /// Apple revoked it (or an admin reset the account's password): 9625.
    case revoked
    /// Expired before its date by a control operation: 9621.
    case expired
}

/// One location's row: everything but its assets, assignments and events.
struct SimulatedLocation: Sendable, Equatable {
    var uId: String
    var locationName: String
    var orgName: String
    var expires: Date
    var mdmInfo: MDMInfo?
    var notificationUrl: String?
    /// A secret of the receiver: stored to send it back as Bearer, never answered or logged.
    var notificationAuthToken: String?
    var notificationTypes: [String]?
    /// The whole Base64 content of the location's current `.vpptoken` file: the only Bearer
    /// string accepted. Older strings are forgotten, so they answer 9601 like any unknown one.
    var currentToken: String
    var tokenStatus: TokenStatus
    /// Moves on every write to the location's assets or assignments; answered as `versionId`.
    var version: Int

    var versionId: String { "\(uId)-v\(version)" }
}

struct SimulatedAsset: Sendable, Equatable {
    var adamId: String
    var pricingParam: String
    /// `App` or `Book`.
    var productType: String
    var total: Int
    var deviceAssignable: Bool
    var revocable: Bool
    /// A free asset without a limit: `total` is not consulted.
    var unlimited: Bool
    /// How many devices hold it, kept by every insert and delete of an assignment.
    var assigned: Int

    var key: WireAssetKey { WireAssetKey(adamId: adamId, pricingParam: pricingParam) }
    /// What may still be handed out; `total` may have been set below what is held (a refund,
    /// a transfer): nothing is then available.
    var available: Int { unlimited ? Int.max : max(0, total - assigned) }
}

enum EventType: String, Codable, Sendable {
    case associate = "ASSOCIATE"
    case disassociate = "DISASSOCIATE"
    case revoke = "REVOKE"
    /// `POST /users/create`, `/users/update`, `/users/retire`.
    case createUsers = "CREATE"
    case updateUsers = "UPDATE"
    case retireUsers = "RETIRE"
    /// `POST /subscriptions/associate`, `/subscriptions/disassociate`.
    case associateSubscriptions = "SUBSCRIPTION_ASSOCIATE"
    case disassociateSubscriptions = "SUBSCRIPTION_DISASSOCIATE"

    /// The `eventType` Apple answers in `GET /status` and the `type` of its notifications.
    var appleName: String {
        switch self {
        case .associateSubscriptions: "ASSOCIATE"
        case .disassociateSubscriptions: "DISASSOCIATE"
        default: rawValue
        }
    }
}

/// What an event's serials (its list of subjects) do not say. Nil for a device event.
struct EventDetails: Codable, Sendable, Equatable {
    /// The subjects are `clientUserIds`, not serial numbers (associate / disassociate / revoke).
    var forUsers: Bool?
    /// The users of a create / update / retire, as asked.
    var users: [RequestUser]?
    /// The subscriptions of a subscriptions associate / disassociate.
    var adamIds: [Int64]?
    var renewing: Bool?
    var deferred: Bool?
}

struct SimulatedEvent: Sendable, Equatable {
    var eventId: String
    var sequence: Int
    var locationUid: String
    var type: EventType
    /// Empty for revoke, which takes every revocable asset of the serials.
    var assets: [WireAssetKey]
    var serialNumbers: EventSerials
    var numRequested: Int
    var pollsRemaining: Int
    /// Set by a control operation: the event ends FAILED and changes nothing.
    var forcedFailure: Bool
    /// Set once, when the event is applied; never applied again after that.
    var outcome: EventOutcome?
    var details: EventDetails? = nil

    var forUsers: Bool { details?.forUsers == true }
}

struct EventOutcome: Codable, Sendable, Equatable {
    var failed: Bool
    var numCompleted: Int
    var failures: [EventFailure]
}
