import AppleAppsAndBooks
import Foundation

// Control operations: the world changing behind Apple's API. Persisted like everything else,
// so one `allot sim …` command affects the engine's next call in another process.

extension AppleSimulator {
    /// `mdmInfo` that Apple Configurator writes when it takes a location.
    public static func appleConfiguratorMDMInfo(version: String = "2.17") -> MDMInfo {
        MDMInfo(id: UUID().uuidString, name: "Apple Configurator 2", metadata: version)
    }

    /// Another server (or Apple Configurator) takes the location; `nil` leaves it unclaimed.
    public func claim(location uId: String, mdmInfo: MDMInfo?) throws {
        try transaction { try $0.claim(location: uId, mdmInfo: mdmInfo) }
    }

    /// Apple revokes the token (or an admin reset the account's password): 9625 from now on.
    public func revokeToken(location uId: String) throws {
        try transaction { try $0.setTokenStatus(location: uId, .revoked) }
    }

    /// The token expires now, whatever its date: 9621 from now on.
    public func expireToken(location uId: String) throws {
        try transaction { try $0.setTokenStatus(location: uId, .expired) }
    }

    public func setTotal(location uId: String, adamId: String, pricingParam: String, total: Int) throws {
        try transaction {
            try $0.setTotal(location: uId, asset: WireAssetKey(adamId: adamId, pricingParam: pricingParam), total: total)
        }
    }

    /// A fresh token file for the same location at `DIR/<uId>.vpptoken` (replacing the old file);
    /// the old string answers 9601 from now on. Returns the new file.
    @discardableResult
    public func renewToken(location uId: String, tokensDirectory: URL) throws -> URL {
        let renewed = try transaction { try $0.renewToken(location: uId, now: Date()) }
        return try Self.writeRenewedTokenFile(renewed, tokensDirectory: tokensDirectory)
    }

    /// Apple's truth: every device assignment, of one location or all.
    public func allAssignments(location uId: String? = nil) throws -> [SimulatorAssignment] {
        try transaction { try $0.allAssignments(location: uId) }
    }

    /// The next `count` calls (any call, `serviceConfig` included) answer `fault` instead.
    /// Faults injected one after another are served in that order.
    public func injectFaults(_ fault: SimulatedFault, count: Int) throws {
        guard count >= 0 else { throw AppleSimulatorError.invalidArgument("a fault count cannot be negative (\(count))") }
        try transaction { $0.addFaults(fault, count: count) }
    }

    public func clearFaults() throws {
        try transaction { $0.settings.pendingFaults = [] }
    }

    /// New events answer PENDING to this many status polls before completing (0: the first poll
    /// sees them complete). Events already recorded keep their own count.
    public func setPendingPolls(_ polls: Int) throws {
        guard polls >= 0 else { throw AppleSimulatorError.invalidArgument("pending polls cannot be negative (\(polls))") }
        try transaction { $0.settings.pendingPolls = polls }
    }

    public func setPageSize(_ size: Int) throws {
        guard size > 0 else { throw AppleSimulatorError.invalidArgument("a page size must be positive (\(size))") }
        try transaction { $0.settings.pageSize = size }
    }

    /// The limits `serviceConfig` answers and the writes are checked against.
    public func setLimits(_ limits: ServiceLimits) throws {
        try transaction { $0.settings.limits = limits }
    }

    /// The event will end FAILED (error 9603 for all its items) and change nothing.
    /// Refused once the event has completed.
    public func failEvent(eventId: String) throws {
        try transaction { try $0.forceFailure(eventId: eventId) }
    }

    /// The next `count` events to be recorded will end FAILED and change nothing.
    public func failNextEvents(count: Int) throws {
        guard count >= 0 else { throw AppleSimulatorError.invalidArgument("an event count cannot be negative (\(count))") }
        try transaction { $0.settings.eventsToFail = count }
    }

    /// Every later answer of Apple's paths is delayed by `milliseconds` ± up to `jitter`, like
    /// a distant Apple; other calls go on meanwhile.
    public func setLatency(milliseconds: Int, jitterMilliseconds: Int = 0) throws {
        guard (0...SimulatorDefaults.latencyMillisecondsMax).contains(milliseconds) else {
            throw AppleSimulatorError.invalidArgument("a latency must be 0 to \(SimulatorDefaults.latencyMillisecondsMax) ms (\(milliseconds))")
        }
        guard (0...milliseconds).contains(jitterMilliseconds) else {
            throw AppleSimulatorError.invalidArgument("a jitter must be 0 to the latency, \(milliseconds) ms (\(jitterMilliseconds))")
        }
        try transaction {
            $0.settings.latencyMilliseconds = milliseconds
            $0.settings.jitterMilliseconds = jitterMilliseconds
        }
    }

    /// Above `maxRequestPerSecond` calls in one second, a token's calls answer 9646 (HTTP 429,
    /// `Retry-After`). Off by default, since engine tests run unpaced.
    public func enforceRequestRate(_ enforced: Bool) throws {
        try transaction { $0.settings.enforceRequestRate = enforced }
    }

    /// Every notification is sent twice with the same `notificationId`, as Apple may.
    public func duplicateNotifications(_ duplicated: Bool) throws {
        try transaction { $0.settings.duplicateNotifications = duplicated }
    }
}
