import AppleAppsAndBooks
import Foundation

/// The seed file of `allot sim init` (DESIGN.md, "Simulator seed").
struct SimulatorSeed: Decodable {
    struct Location: Decodable {
        var uId: String
        var locationName: String
        var orgName: String
        /// ISO-8601, e.g. `2027-09-01T00:00:00Z`.
        var expires: String
        var mdmInfo: MDMInfo?
        var assets: [Asset]
    }

    struct Asset: Decodable {
        var adamId: String
        var pricingParam: String
        var productType: String
        var total: Int
        var deviceAssignable: Bool
        var revocable: Bool
    }

    var locations: [Location]

    static let pricingParams: Set<String> = ["STDQ", "PLUS"]
    static let productTypes: Set<String> = ["App", "Book"]

    static func decode(_ data: Data) throws -> SimulatorSeed {
        do {
            return try JSONDecoder().decode(SimulatorSeed.self, from: data)
        } catch {
            throw AppleSimulatorError.invalidSeed("not the seed JSON (\(error))")
        }
    }

    /// The simulator's first state: every location with a fresh secret, nothing assigned.
    func makeState() throws -> SimulatorState {
        var seen = Set<String>()
        var locations: [SimulatedLocation] = []
        for location in self.locations {
            guard !location.uId.isEmpty else { throw AppleSimulatorError.invalidSeed("a location has an empty uId") }
            guard seen.insert(location.uId).inserted else {
                throw AppleSimulatorError.invalidSeed("location \(location.uId) appears twice")
            }
            let expires = try Self.parseDate(location.expires, location: location.uId)
            let assets = try location.assets.map { try Self.validated($0, location: location.uId) }
            guard Set(assets.map(\.key)).count == assets.count else {
                throw AppleSimulatorError.invalidSeed("location \(location.uId) lists an asset twice")
            }
            locations.append(SimulatedLocation(
                uId: location.uId, locationName: location.locationName, orgName: location.orgName,
                expires: expires, mdmInfo: location.mdmInfo, notificationUrl: nil, notificationTypes: nil,
                currentToken: VPPTokenFileFormat.contents(secret: TokenSecret.make(), expirationDate: expires,
                                                    orgName: location.orgName),
                // Version 1 is taken by the seed; later versions come from the state's sequence, which starts above it.
                tokenStatus: .active, assets: assets, assignments: [], version: 1
            ))
        }
        return SimulatorState(formatVersion: SimulatorState.currentFormatVersion, locations: locations,
                              events: [], settings: .defaults, sequence: 1)
    }

    private static func validated(_ asset: Asset, location: String) throws -> SimulatedAsset {
        let name = "asset \(asset.adamId):\(asset.pricingParam) of location \(location)"
        guard !asset.adamId.isEmpty else { throw AppleSimulatorError.invalidSeed("an asset of location \(location) has an empty adamId") }
        guard pricingParams.contains(asset.pricingParam) else { throw AppleSimulatorError.invalidSeed("\(name): pricingParam must be STDQ or PLUS") }
        guard productTypes.contains(asset.productType) else { throw AppleSimulatorError.invalidSeed("\(name): productType must be App or Book") }
        guard asset.total >= 0 else { throw AppleSimulatorError.invalidSeed("\(name): negative total") }
        // Apple never lets a book go to a device; a seed saying otherwise would test a world that cannot exist.
        guard !(asset.productType == "Book" && asset.deviceAssignable) else {
            throw AppleSimulatorError.invalidSeed("\(name): books are never device-assignable")
        }
        return SimulatedAsset(adamId: asset.adamId, pricingParam: asset.pricingParam, productType: asset.productType,
                              total: asset.total, deviceAssignable: asset.deviceAssignable, revocable: asset.revocable)
    }

    private static func parseDate(_ text: String, location: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw AppleSimulatorError.invalidSeed("location \(location): expires \"\(text)\" is not an ISO-8601 date")
    }
}

/// The secret inside a token file: random, so that no two downloads are alike.
enum TokenSecret {
    static let byteCount = 48

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
    }
}
