import AppleAppsAndBooks
import Foundation

// What tests, the demo and `allot sim …` do to the world behind Apple's back. Each first lets
// the location's finished work land, so the change comes after everything already due.

extension SimulatorState {
    mutating func controlledLocation(_ uId: String) throws -> Int {
        guard let index = locationIndex(uId: uId) else { throw AppleSimulatorError.unknownLocation(uId) }
        settleDueEvents(locationUid: uId)
        return index
    }

    /// Another server (or Apple Configurator) writes its `mdmInfo`: Apple has no error for this,
    /// the engine only sees it in the next answer.
    mutating func claim(location uId: String, mdmInfo: MDMInfo?) throws {
        let index = try controlledLocation(uId)
        locations[index].mdmInfo = mdmInfo
        locations[index].version = nextSequence()
    }

    mutating func setTokenStatus(location uId: String, _ status: TokenStatus) throws {
        let index = try controlledLocation(uId)
        locations[index].tokenStatus = status
    }

    /// A refund, a purchase or a transfer changes the total; it may fall below what is assigned.
    mutating func setTotal(location uId: String, asset key: WireAssetKey, total: Int) throws {
        guard total >= 0 else { throw AppleSimulatorError.invalidArgument("a total cannot be negative (\(total))") }
        let index = try controlledLocation(uId)
        guard let assetIndex = locations[index].assetIndex(key) else {
            throw AppleSimulatorError.unknownAsset(key.adamId, key.pricingParam, location: uId)
        }
        locations[index].assets[assetIndex].total = total
        locations[index].version = nextSequence()
    }

    /// A fresh download for the same location: a new secret valid a year; the old string is
    /// forgotten at once. Assignments are kept and the token is usable again.
    mutating func renewToken(location uId: String, now: Date) throws -> SimulatedLocation {
        let index = try controlledLocation(uId)
        let expires = now.addingTimeInterval(SimulatorDefaults.tokenLifetimeSeconds)
        locations[index].expires = expires
        locations[index].tokenStatus = .active
        locations[index].currentToken = VPPTokenFileFormat.contents(
            secret: TokenSecret.make(), expirationDate: expires, orgName: locations[index].orgName
        )
        return locations[index]
    }

    mutating func allAssignments(location uId: String?) throws -> [SimulatorAssignment] {
        if let uId {
            _ = try controlledLocation(uId)
        } else {
            settleAllDueEvents()
        }
        return locations
            .filter { uId == nil || $0.uId == uId }
            .flatMap { location in
                location.assignments.map {
                    SimulatorAssignment(adamId: $0.adamId, pricingParam: $0.pricingParam,
                                        serialNumber: $0.serialNumber, locationUid: location.uId)
                }
            }
    }
}
