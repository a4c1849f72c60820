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
        /// Users registered at the location (absent: none).
        var users: [User]?
        /// Whether the location declared subscription management (absent: only when it has
        /// subscriptions).
        var subscriptionManagement: Bool?
        /// Subscriptions with their seats; they need subscription management, which they imply.
        var subscriptions: [Subscription]?
    }

    /// A user as `users/create` would register it; `appleAccount`: the person already accepted
    /// the invitation with it. A `managedAppleId` associates at once.
    struct User: Decodable {
        var clientUserId: String
        var email: String?
        var managedAppleId: String?
        var appleAccount: String?
    }

    struct Subscription: Decodable {
        var adamId: Int64
        var parentAdamId: Int64?
        var renewing: Int
        var expiring: Int?
        /// `YYYY-MM-DD`; absent: a month after `sim init`.
        var periodEnd: String?
        var status: AppleSubscriptionStatus?
    }

    struct Asset: Decodable {
        var adamId: String
        var pricingParam: String
        var productType: String
        var total: Int
        var deviceAssignable: Bool
        var revocable: Bool
        /// A free asset without a limit (`total` is then ignored); absent means false.
        var unlimited: Bool?
    }

    /// Optional settings of the simulated service; absent ones keep their defaults.
    struct Settings: Decodable {
        /// Every answer of Apple's paths is delayed by this much (a distant Apple).
        var latencyMs: Int?
        var jitterMs: Int?
        /// Answer 9646 above `maxRequestPerSecond` calls per second per token (absent: true, as Apple does).
        var enforceRequestRate: Bool?
        var maxRequestPerSecond: Int?
        /// Send every notification twice (receivers must drop duplicates).
        var duplicateNotifications: Bool?
    }

    var locations: [Location]
    var settings: Settings?

    static let pricingParams: Set<String> = ["STDQ", "PLUS"]
    static let productTypes: Set<String> = ["App", "Book"]

    static func decode(_ data: Data) throws -> SimulatorSeed {
        do {
            return try JSONDecoder().decode(SimulatorSeed.self, from: data)
        } catch {
            throw AppleSimulatorError.invalidSeed("not the seed JSON (\(error))")
        }
    }

    /// Writes the simulator's first state: every location with a fresh secret, nothing assigned.
    func write(into connection: SimulatorConnection) throws {
        let store = SimulatorStore(connection: connection)
        var seen = Set<String>()
        for (position, location) in self.locations.enumerated() {
            guard !location.uId.isEmpty else { throw AppleSimulatorError.invalidSeed("a location has an empty uId") }
            guard seen.insert(location.uId).inserted else {
                throw AppleSimulatorError.invalidSeed("location \(location.uId) appears twice")
            }
            let expires = try Self.parseDate(location.expires, location: location.uId)
            let assets = try location.assets.map { try Self.validated($0, location: location.uId) }
            guard Set(assets.map(\.key)).count == assets.count else {
                throw AppleSimulatorError.invalidSeed("location \(location.uId) lists an asset twice")
            }
            try store.insert(SimulatedLocation(
                uId: location.uId, locationName: location.locationName, orgName: location.orgName,
                expires: expires, mdmInfo: location.mdmInfo, notificationUrl: nil, notificationAuthToken: nil,
                notificationTypes: nil,
                currentToken: VPPTokenFileFormat.contents(secret: TokenSecret.make(), expirationDate: expires,
                                                          orgName: location.orgName),
                // Version 1 is taken by the seed; later versions come from the sequence, which starts above it.
                tokenStatus: .active, version: 1
            ), position: position)
            for (assetPosition, asset) in assets.enumerated() {
                try store.insert(asset, location: location.uId, position: assetPosition)
            }
            try Self.writeUsers(location.users ?? [], location: location.uId, store: store)
            try Self.writeSubscriptions(location, store: store)
        }
        try SimulatorStore.insertMeta(connection, settings: try makeSettings(), sequence: 1)
    }

    private static func writeUsers(_ users: [User], location uId: String, store: SimulatorStore) throws {
        var seen = Set<String>()
        for user in users {
            guard !user.clientUserId.isEmpty else { throw AppleSimulatorError.invalidSeed("a user of location \(uId) has an empty clientUserId") }
            guard seen.insert(user.clientUserId).inserted else {
                throw AppleSimulatorError.invalidSeed("user \(user.clientUserId) of location \(uId) appears twice")
            }
            let account = (user.managedAppleId ?? user.appleAccount)?.lowercased()
            try store.save(SimulatedUser(clientUserId: user.clientUserId, email: user.email, managedAppleId: user.managedAppleId,
                                         status: account == nil ? .registered : .associated, inviteCode: SimulatorState.inviteCode(),
                                         idHash: account.map(SimulatorState.idHash), appleAccount: account, version: 1), location: uId)
        }
    }

    private static func writeSubscriptions(_ location: Location, store: SimulatorStore) throws {
        let subscriptions = location.subscriptions ?? []
        if location.subscriptionManagement == false, !subscriptions.isEmpty {
            throw AppleSimulatorError.invalidSeed("location \(location.uId) has subscriptions but subscriptionManagement false")
        }
        if let enabled = location.subscriptionManagement ?? (subscriptions.isEmpty ? nil : true) {
            try store.setSubscriptionsEnabled(location: location.uId, enabled)
        }
        var seen = Set<Int64>()
        for subscription in subscriptions {
            let name = "subscription \(subscription.adamId) of location \(location.uId)"
            guard subscription.adamId > 0 else { throw AppleSimulatorError.invalidSeed("\(name): adamId must be positive") }
            guard seen.insert(subscription.adamId).inserted else { throw AppleSimulatorError.invalidSeed("\(name) appears twice") }
            guard subscription.renewing >= 0, (subscription.expiring ?? 0) >= 0 else {
                throw AppleSimulatorError.invalidSeed("\(name): negative seats")
            }
            if let end = subscription.periodEnd, !SubscriptionDefaults.isCalendarDate(end) {
                throw AppleSimulatorError.invalidSeed("\(name): periodEnd \(end) is not YYYY-MM-DD")
            }
            try store.save(SimulatedSubscription(adamId: subscription.adamId, parentAdamId: subscription.parentAdamId,
                                                 status: subscription.status ?? .active,
                                                 periodEnd: subscription.periodEnd ?? SubscriptionDefaults.monthLater(Date()),
                                                 totalRenewing: subscription.renewing, totalExpiring: subscription.expiring ?? 0),
                           location: location.uId)
        }
    }

    private func makeSettings() throws -> SimulatorSettings {
        var result = SimulatorSettings.defaults
        guard let settings else { return result }
        if let latency = settings.latencyMs {
            guard (0...SimulatorDefaults.latencyMillisecondsMax).contains(latency) else {
                throw AppleSimulatorError.invalidSeed("settings.latencyMs must be 0 to \(SimulatorDefaults.latencyMillisecondsMax)")
            }
            result.latencyMilliseconds = latency
        }
        if let jitter = settings.jitterMs {
            guard (0...result.latencyMilliseconds).contains(jitter) else {
                throw AppleSimulatorError.invalidSeed("settings.jitterMs must be 0 to latencyMs (\(result.latencyMilliseconds))")
            }
            result.jitterMilliseconds = jitter
        }
        if let perSecond = settings.maxRequestPerSecond {
            guard perSecond > 0 else { throw AppleSimulatorError.invalidSeed("settings.maxRequestPerSecond must be positive") }
            result.limits.maxRequestPerSecond = perSecond
        }
        result.enforceRequestRate = settings.enforceRequestRate ?? result.enforceRequestRate
        result.duplicateNotifications = settings.duplicateNotifications ?? false
        return result
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
                              total: asset.total, deviceAssignable: asset.deviceAssignable, revocable: asset.revocable,
                              unlimited: asset.unlimited ?? false, assigned: 0)
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
