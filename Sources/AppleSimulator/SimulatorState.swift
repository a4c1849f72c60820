import AppleAppsAndBooks
import Foundation

// The simulator's whole world, persisted as one JSON file. Pure values: every rule of Apple's
// service is a mutating method on these (see the `SimulatorState+…` files); the actor only loads,
// calls and saves.

struct SimulatorState: Codable, Sendable, Equatable {
    /// Bumped when the file layout changes incompatibly; an older file is refused, not guessed at.
    static let currentFormatVersion = 1

    var formatVersion: Int
    var locations: [SimulatedLocation]
    /// Every event not yet pruned, oldest first.
    var events: [SimulatedEvent]
    var settings: SimulatorSettings
    /// Source of event ordering and of `versionId`s: only ever grows.
    var sequence: Int

    func locationIndex(uId: String) -> Int? {
        locations.firstIndex { $0.uId == uId }
    }

    mutating func nextSequence() -> Int {
        sequence += 1
        return sequence
    }
}

/// What tests and the CLI tune: limits, paging, event delay, injected faults.
struct SimulatorSettings: Codable, Sendable, Equatable {
    var limits: ServiceLimits
    var pageSize: Int
    /// How many `eventStatus` polls a new event answers PENDING before it completes.
    var pendingPolls: Int
    /// Faults waiting for the next calls, consumed front to back.
    var pendingFaults: [PendingFault]
    /// How many of the next new events are forced to end FAILED.
    var eventsToFail: Int

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
    /// A token downloaded (or renewed) from Apple is valid one year.
    static let tokenLifetimeSeconds: TimeInterval = 365 * 24 * 60 * 60
}

enum TokenStatus: String, Codable, Sendable, Equatable {
    case active
    /// Apple revoked it (or an admin reset the account's password): 9625.
    case revoked
    /// Expired before its date by a control operation: 9621.
    case expired
}

struct SimulatedLocation: Codable, Sendable, Equatable {
    var uId: String
    var locationName: String
    var orgName: String
    var expires: Date
    var mdmInfo: MDMInfo?
    var notificationUrl: String?
    var notificationTypes: [String]?
    /// The whole Base64 content of the location's current `.vpptoken` file: the only Bearer
    /// string accepted. Older strings are forgotten, so they answer 9601 like any unknown one.
    var currentToken: String
    var tokenStatus: TokenStatus
    var assets: [SimulatedAsset]
    /// Device assignments in the order they were made.
    var assignments: [SimulatedAssignment]
    /// Moves on every write to the location's assets or assignments; answered as `versionId`.
    var version: Int

    var versionId: String { "\(uId)-v\(version)" }

    func assetIndex(_ key: WireAssetKey) -> Int? {
        assets.firstIndex { $0.adamId == key.adamId && $0.pricingParam == key.pricingParam }
    }

    func assignedCount(_ key: WireAssetKey) -> Int {
        assignments.reduce(0) { $0 + ($1.adamId == key.adamId && $1.pricingParam == key.pricingParam ? 1 : 0) }
    }
}

struct SimulatedAsset: Codable, Sendable, Equatable {
    var adamId: String
    var pricingParam: String
    /// `App` or `Book`.
    var productType: String
    var total: Int
    var deviceAssignable: Bool
    var revocable: Bool

    var key: WireAssetKey { WireAssetKey(adamId: adamId, pricingParam: pricingParam) }
}

struct SimulatedAssignment: Codable, Sendable, Hashable {
    var adamId: String
    var pricingParam: String
    var serialNumber: String

    var key: WireAssetKey { WireAssetKey(adamId: adamId, pricingParam: pricingParam) }
}

enum EventType: String, Codable, Sendable {
    case associate = "ASSOCIATE"
    case disassociate = "DISASSOCIATE"
    case revoke = "REVOKE"
}

struct SimulatedEvent: Codable, Sendable, Equatable {
    var eventId: String
    var sequence: Int
    var locationUid: String
    var type: EventType
    /// Empty for revoke, which takes every revocable asset of the serials.
    var assets: [WireAssetKey]
    var serialNumbers: [String]
    var numRequested: Int
    var pollsRemaining: Int
    /// Set by a control operation: the event ends FAILED and changes nothing.
    var forcedFailure: Bool
    /// Set once, when the event is applied; never applied again after that.
    var outcome: EventOutcome?
}

struct EventOutcome: Codable, Sendable, Equatable {
    var failed: Bool
    var numCompleted: Int
    var failures: [EventFailure]
}
