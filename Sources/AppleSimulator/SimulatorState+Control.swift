import AppleAppsAndBooks
import Foundation

// What tests, the demo and `allot sim …` do to the world behind Apple's back. Each first lets
// the location's finished work land, so the change comes after everything already due.

extension SimulatorState {
    func controlledLocation(_ uId: String) throws -> SimulatedLocation {
        guard try store.location(uId: uId) != nil else { throw AppleSimulatorError.unknownLocation(uId) }
        try settleDueEvents(locationUid: uId)
        guard let settled = try store.location(uId: uId) else { preconditionFailure("location \(uId) vanished inside its own transaction") }
        return settled
    }

    /// Another server (or Apple Configurator) writes its `mdmInfo`: Apple has no error for this,
    /// the engine only sees it in the next answer.
    func claim(location uId: String, mdmInfo: MDMInfo?) throws {
        var location = try controlledLocation(uId)
        location.mdmInfo = mdmInfo
        location.version = nextSequence()
        try store.update(location)
    }

    func setTokenStatus(location uId: String, _ status: TokenStatus) throws {
        var location = try controlledLocation(uId)
        location.tokenStatus = status
        try store.update(location)
    }

    /// A refund, a purchase or a transfer changes the total; it may fall below what is assigned.
    /// Apple then notifies the location's receiver with the change (`ASSET_COUNT`).
    func setTotal(location uId: String, asset key: WireAssetKey, total: Int) throws {
        guard total >= 0 else { throw AppleSimulatorError.invalidArgument("a total cannot be negative (\(total))") }
        let location = try controlledLocation(uId)
        guard let asset = try store.asset(location: uId, key) else {
            throw AppleSimulatorError.unknownAsset(key.adamId, key.pricingParam, location: uId)
        }
        try store.setTotal(location: uId, key, total: total)
        try store.setVersion(location: uId, nextSequence())
        if total != asset.total {
            try queueAssetCount(location: location, key, countDelta: total - asset.total)
        }
    }

    /// A fresh download for the same location: a new secret valid a year; the old string is
    /// forgotten at once. Assignments are kept and the token is usable again.
    func renewToken(location uId: String, now: Date) throws -> SimulatedLocation {
        var location = try controlledLocation(uId)
        location.expires = now.addingTimeInterval(SimulatorDefaults.tokenLifetimeSeconds)
        location.tokenStatus = .active
        location.currentToken = VPPTokenFileFormat.contents(
            secret: TokenSecret.make(), expirationDate: location.expires, orgName: location.orgName
        )
        try store.update(location)
        return location
    }

    func allAssignments(location uId: String?) throws -> [SimulatorAssignment] {
        if let uId {
            _ = try controlledLocation(uId)
        } else {
            try settleAllDueEvents()
        }
        return try store.allAssignments(location: uId)
    }
}
