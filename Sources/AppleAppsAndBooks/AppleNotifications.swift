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

/// Apple's notification types about people and subscription seats. Apart from
/// `AppleNotificationType` so that code switching over that enum keeps compiling; a receiver
/// that wants them subscribes to both lists' raw values.
public enum AppleUserNotificationType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Users created, updated or retired (`UserManagementBody`).
    case userManagement = "USER_MANAGEMENT"
    /// A person accepted an invitation (`UserAssociatedBody`).
    case userAssociated = "USER_ASSOCIATED"
    /// A subscription's seats moved: a purchase, a period's end, a renewal (`SubscriptionCountBody`).
    case subscriptionCount = "SUBSCRIPTION_COUNT"
    /// Seats associated or disassociated (`SubscriptionManagementBody`).
    case subscriptionManagement = "SUBSCRIPTION_MANAGEMENT"
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

/// `USER_MANAGEMENT`: a create, update or retire event finished (at most 100 users a
/// notification).
public struct UserManagementBody: Codable, Sendable, Hashable {
    public var eventId: String
    /// `CREATE`, `UPDATE` or `RETIRE`.
    public var type: String
    /// `SUCCESS` or `FAILURE`.
    public var result: String
    public var users: [ResponseUser]?
    public var error: EventFailure?
    public init(eventId: String, type: String, result: String, users: [ResponseUser]?, error: EventFailure? = nil) {
        self.eventId = eventId
        self.type = type
        self.result = result
        self.users = users
        self.error = error
    }
}

/// `USER_ASSOCIATED`: people accepted their invitations; each user now `Associated`, with an
/// `idHash`.
public struct UserAssociatedBody: Codable, Sendable, Hashable {
    public var associatedUsers: [ResponseUser]
    public init(associatedUsers: [ResponseUser]) {
        self.associatedUsers = associatedUsers
    }
}

/// `SUBSCRIPTION_COUNT`: a subscription's seats moved. `counts` has `available` and `total`
/// only (never `assigned`).
public struct SubscriptionCountBody: Codable, Sendable, Hashable {
    public var adamId: Int64
    public var parentAdamId: Int64?
    public var counts: SubscriptionCounts
    public init(adamId: Int64, parentAdamId: Int64?, counts: SubscriptionCounts) {
        self.adamId = adamId
        self.parentAdamId = parentAdamId
        self.counts = counts
    }

    private enum CodingKeys: String, CodingKey { case adamId, parentAdamId, counts }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        adamId = try container.decodeAdamId(forKey: .adamId)
        parentAdamId = try container.decodeAdamIdIfPresent(forKey: .parentAdamId)
        counts = try container.decode(SubscriptionCounts.self, forKey: .counts)
    }
}

/// `SUBSCRIPTION_MANAGEMENT`: an associate or disassociate of seats finished (a deferred
/// disassociation is told when the period ends).
public struct SubscriptionManagementBody: Codable, Sendable, Hashable {
    public var eventId: String
    /// `ASSOCIATE` or `DISASSOCIATE`.
    public var type: String
    /// `SUCCESS` or `FAILURE`.
    public var result: String
    public var assignments: [ResponseSubscriptionAssignment]?
    public var error: EventFailure?
    public init(eventId: String, type: String, result: String, assignments: [ResponseSubscriptionAssignment]?, error: EventFailure? = nil) {
        self.eventId = eventId
        self.type = type
        self.result = result
        self.assignments = assignments
        self.error = error
    }
}
