import AppleAppsAndBooks
import Foundation

// Apple → MDM notifications (APPLE.md, "Notifications" and "More of Apple's rules"). A call
// records each notification as a row in its own transaction; after it commits, the simulator
// sends the due rows (`NotificationDelivery.swift`), so a notification exists exactly when the
// change it tells of was committed.

/// Apple's notification types, as they travel.
public enum NotificationType {
    public static let test = "TEST_NOTIFICATION"
    public static let assetManagement = "ASSET_MANAGEMENT"
    public static let assetCount = "ASSET_COUNT"
    public static let userManagement = "USER_MANAGEMENT"
    public static let userAssociated = "USER_ASSOCIATED"
    public static let subscriptionCount = "SUBSCRIPTION_COUNT"
    public static let subscriptionManagement = "SUBSCRIPTION_MANAGEMENT"
    /// What a location may subscribe to; the test notification is always sent.
    static let subscribable: Set<String> = [assetManagement, assetCount, userManagement, userAssociated,
                                            subscriptionCount, subscriptionManagement]
    /// What a receiver configured without `notificationTypes` gets.
    static let unnamedDefault: [String] = [assetCount, assetManagement]
}

/// Where a location's notifications go. `authToken` is the receiver's secret: sent back as
/// `Authorization: Bearer …`, never answered, printed or logged.
struct NotificationTarget: Sendable, Equatable {
    var url: String
    var authToken: String
    var types: [String]
}

/// The envelope Apple posts: `{notificationType, notificationId, uId, notification{…}}`.
public struct SimulatorNotification<Body: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var notificationType: String
    public var notificationId: String
    public var uId: String
    public var notification: Body
}

/// `ASSET_MANAGEMENT`: an event finished; at most `NotificationLimits.itemsMax` assignments each.
public struct AssetManagementNotification: Codable, Sendable, Equatable {
    public var eventId: String
    /// `ASSOCIATE`, `DISASSOCIATE` or `REVOKE`.
    public var type: String
    /// `SUCCESS` or `FAILURE`.
    public var result: String
    public var assignments: [WireAssignment]
    public var error: EventFailure?
}

/// `ASSET_COUNT`: the location's total of an asset moved (a purchase, a refund, a transfer).
public struct AssetCountNotification: Codable, Sendable, Equatable {
    public var adamId: String
    public var pricingParam: String
    public var countDelta: Int

    public init(adamId: String, pricingParam: String, countDelta: Int) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.countDelta = countDelta
    }
}

/// `TEST_NOTIFICATION`: sent once when a receiver is configured; it must answer 2xx.
public struct TestNotification: Codable, Sendable, Equatable {}

enum NotificationLimits {
    /// Apple sends at most this many elements in one notification.
    static let itemsMax = 100
    /// Apple's best effort: this many tries of each notification, then it is dropped.
    static let attemptsMax = 3
    /// Seconds to wait before the second and the third try (Apple spreads its tries over
    /// minutes; the simulator over seconds, so tests can watch all three).
    static let retryDelaysSeconds: [Double] = [0.5, 1.5]
    /// How long one sender holds a row before another process may try it.
    static let leaseSeconds: Double = 10
    /// A receiver that does not connect or answer within this is a failed try. The simulator's
    /// receivers are `allot serve` nodes on a near network, which answer in milliseconds; a
    /// short try keeps a CLI `sim` command's wait for a gone receiver short.
    static let timeoutSeconds: Int64 = 2
    /// The longest a CLI `sim` command waits for its notifications before it exits: every try
    /// timing out, with the delays between them (8 s). A receiver that refuses connections
    /// costs only the delays (2 s).
    static let finishSecondsMax = Double(attemptsMax) * Double(timeoutSeconds) + retryDelaysSeconds.reduce(0, +)
    static let authTokenLengthMax = 1024
    static let urlLengthMax = 2048
}

extension SimulatorState {
    /// An event finished: tell the location's receiver, in chunks of at most 100 assignments.
    func queueAssetManagement(_ event: SimulatedEvent, done listDone: () throws -> [WireAssignment]) throws {
        guard let outcome = event.outcome else { preconditionFailure("an unfinished event has nothing to notify") }
        guard let location = try store.location(uId: event.locationUid), let target = location.notificationTarget,
              target.types.contains(NotificationType.assetManagement) else { return }
        let done = try listDone()
        let chunks = stride(from: 0, to: max(done.count, 1), by: NotificationLimits.itemsMax).map {
            Array(done[min($0, done.count)..<min($0 + NotificationLimits.itemsMax, done.count)])
        }
        for chunk in chunks {
            let body = AssetManagementNotification(eventId: event.eventId, type: event.type.appleName,
                                                   result: outcome.failed ? "FAILURE" : "SUCCESS",
                                                   assignments: chunk, error: outcome.failures.first)
            try queue(location: location.uId, type: NotificationType.assetManagement, body)
        }
    }

    func queueAssetCount(location: SimulatedLocation, _ key: WireAssetKey, countDelta: Int) throws {
        guard let target = location.notificationTarget, target.types.contains(NotificationType.assetCount) else { return }
        try queue(location: location.uId, type: NotificationType.assetCount,
                  AssetCountNotification(adamId: key.adamId, pricingParam: key.pricingParam, countDelta: countDelta))
    }

    func queue<Body: Codable & Sendable & Equatable>(location uId: String, type: String, _ body: Body) throws {
        let envelope = SimulatorNotification(notificationType: type, notificationId: UUID().uuidString.lowercased(),
                                             uId: uId, notification: body)
        let text = try SimulatorStore.encode(envelope)
        // Apple may deliver a notification twice; on purpose here, so receivers prove they
        // drop duplicates by notificationId.
        for _ in 0..<(settings.duplicateNotifications ? 2 : 1) {
            try store.insertNotification(location: uId, body: text, nextAttempt: Date())
        }
        notificationsQueued = true
    }
}

extension SimulatorState {
    /// Whether the location's receiver asked for `type`; the location as read now.
    func wantsNotification(location uId: String, _ type: String) throws -> Bool {
        guard let location = try store.location(uId: uId), let target = location.notificationTarget else { return false }
        return target.types.contains(type)
    }

    /// In chunks of at most 100 elements; one notification even when there are none.
    static func chunks<T>(_ items: [T]) -> [[T]] {
        stride(from: 0, to: max(items.count, 1), by: NotificationLimits.itemsMax).map {
            Array(items[min($0, items.count)..<min($0 + NotificationLimits.itemsMax, items.count)])
        }
    }

    func queueUserManagement(_ event: SimulatedEvent, users: [ResponseUser]) throws {
        guard let outcome = event.outcome else { preconditionFailure("an unfinished event has nothing to notify") }
        guard try wantsNotification(location: event.locationUid, NotificationType.userManagement) else { return }
        for chunk in Self.chunks(users) {
            try queue(location: event.locationUid, type: NotificationType.userManagement,
                      UserManagementBody(eventId: event.eventId, type: event.type.appleName, result: outcome.failed ? "FAILURE" : "SUCCESS",
                                         users: chunk, error: outcome.failures.first))
        }
    }

    func queueUserAssociated(location uId: String, users: [ResponseUser]) throws {
        guard try wantsNotification(location: uId, NotificationType.userAssociated) else { return }
        for chunk in Self.chunks(users) {
            try queue(location: uId, type: NotificationType.userAssociated, UserAssociatedBody(associatedUsers: chunk))
        }
    }

    func queueSubscriptionManagement(location uId: String, eventId: String, type: EventType, failed: Bool, error: EventFailure?,
                                     assignments: [ResponseSubscriptionAssignment]) throws {
        guard try wantsNotification(location: uId, NotificationType.subscriptionManagement) else { return }
        for chunk in Self.chunks(assignments) {
            try queue(location: uId, type: NotificationType.subscriptionManagement,
                      SubscriptionManagementBody(eventId: eventId, type: type.appleName, result: failed ? "FAILURE" : "SUCCESS",
                                                 assignments: chunk, error: error))
        }
    }

    /// `SUBSCRIPTION_COUNT`: `available` and `total` only, never `assigned`.
    func queueSubscriptionCount(location uId: String, _ subscription: SimulatedSubscription, counts: SubscriptionCounts) throws {
        guard try wantsNotification(location: uId, NotificationType.subscriptionCount) else { return }
        try queue(location: uId, type: NotificationType.subscriptionCount,
                  SubscriptionCountBody(adamId: subscription.adamId, parentAdamId: subscription.parentAdamId,
                                        counts: SubscriptionCounts(assigned: nil, available: counts.available, total: counts.total)))
    }
}

extension SimulatedLocation {
    var notificationTarget: NotificationTarget? {
        guard let url = notificationUrl, let authToken = notificationAuthToken else { return nil }
        return NotificationTarget(url: url, authToken: authToken, types: notificationTypes ?? NotificationType.unnamedDefault)
    }
}

extension RequestValidation {
    /// `POST /client/config`'s notification settings: none at all (no receiver), or a URL, a
    /// bearer token and known types (9710, 9711, 9712 for each wrong one, in that order).
    static func notificationTarget(_ request: ClientConfigRequest, location uId: String) throws -> NotificationTarget? {
        guard let url = request.notificationUrl else {
            guard request.notificationAuthToken == nil, request.notificationTypes == nil else {
                throw ServiceErrorCatalog.error(ServiceErrorCatalog.invalidNotificationURL,
                                                detail: "notificationAuthToken or notificationTypes without a notificationUrl")
            }
            return nil
        }
        guard url.count <= NotificationLimits.urlLengthMax, let parsed = URL(string: url),
              let scheme = parsed.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = parsed.host, !host.isEmpty else {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.invalidNotificationURL, detail: "notificationUrl must be an http(s) URL")
        }
        // A bearer token is printable ASCII without spaces (RFC 6750's b64token, loosely).
        guard let authToken = request.notificationAuthToken, !authToken.isEmpty,
              authToken.count <= NotificationLimits.authTokenLengthMax,
              authToken.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.invalidNotificationAuthToken,
                                            detail: "notificationAuthToken must be 1 to \(NotificationLimits.authTokenLengthMax) printable characters without spaces")
        }
        let types = request.notificationTypes ?? NotificationType.unnamedDefault
        guard !types.isEmpty, types.allSatisfy(NotificationType.subscribable.contains), Set(types).count == types.count else {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.invalidNotificationType,
                                            detail: "notificationTypes must be distinct values of \(NotificationType.subscribable.sorted())")
        }
        return NotificationTarget(url: url, authToken: authToken, types: types)
    }
}
