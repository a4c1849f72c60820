// Apple → MDM notifications as the engine reads them (APPLE.md, "Notifications"): an HTTPS
// POST with `Authorization: Bearer <notificationAuthToken>` and the envelope
// `{notificationType, notificationId, uId, notification{…}}`.

/// Apple's notification types, as they travel.
public enum AppleNotificationType: String, Sendable, Hashable, Codable, CaseIterable {
    case test = "TEST_NOTIFICATION"
    case assetManagement = "ASSET_MANAGEMENT"
    case assetCount = "ASSET_COUNT"

    /// The types a receiver subscribes to (the test notification is always sent).
    public static let subscribed: [AppleNotificationType] = [.assetManagement, .assetCount]
}

/// The envelope, its body left undecoded until its type is known.
public struct AppleNotificationEnvelope: Decodable, Sendable {
    public var notificationType: String
    public var notificationId: String
    public var uId: String
}

/// The envelope with its body of one type.
public struct AppleNotification<Body: Decodable & Sendable>: Decodable, Sendable {
    public var notification: Body
}

/// `ASSET_MANAGEMENT`: an event finished (at most 100 assignments a notification).
public struct AssetManagementBody: Decodable, Sendable, Hashable {
    public var eventId: String
    /// `ASSOCIATE`, `DISASSOCIATE` or `REVOKE`.
    public var type: String
    /// `SUCCESS` or `FAILURE`.
    public var result: String
    public var assignments: [WireAssignment]?
    public var error: EventFailure?
}

/// `ASSET_COUNT`: a purchase, a transfer or a refund moved the location's total of an asset.
public struct AssetCountBody: Decodable, Sendable, Hashable {
    public var adamId: String
    public var pricingParam: String
    public var countDelta: Int
}
