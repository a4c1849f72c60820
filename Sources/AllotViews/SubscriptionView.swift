import Allot
import AllotCore

/// A subscription's seats merged across a tenant's tokens, as published (`subscriptions list`,
/// `GET /v1/tenants/{slug}/subscriptions`). `adamId` is a number, as in Apple's subscription
/// schema. Counts are split `renewing` / `expiring` as Apple splits them: `assigned` by the
/// assignments' renewal, `total` and `available` by the seats'.
public struct SubscriptionView: Encodable, Sendable {
    /// One location's own numbers.
    public struct Location: Encodable, Sendable {
        public let tokenId: Int64
        public let locationUid: String
        @AlwaysPresent public var status: String?
        @AlwaysPresent public var periodEnd: String?
        public let total: SeatCount
        public let assigned: SeatCount
        public let available: SeatCount
        /// When Apple's numbers were read, ISO 8601 (UTC).
        public let readAt: String
    }

    public let adamId: Int64
    /// The app the subscription belongs to, when Apple names it.
    @AlwaysPresent public var parentAdamId: Int64?
    /// `ACTIVE` when any location's is; else the locations' status (Apple's spelling).
    @AlwaysPresent public var status: String?
    /// The earliest period end of the locations, `YYYY-MM-DD` (UTC): seats set to expire go then.
    @AlwaysPresent public var periodEnd: String?
    public let total: SeatCount
    public let assigned: SeatCount
    public let available: SeatCount
    public let locations: [Location]

    public init(_ seats: SubscriptionSeats) {
        adamId = seats.adamId
        parentAdamId = seats.parentAdamId
        status = seats.status
        periodEnd = seats.periodEnd
        total = seats.total
        assigned = seats.assigned
        available = seats.available
        locations = seats.locations.map { location in
            Location(tokenId: location.tokenId.rawValue, locationUid: location.locationUid, status: location.status,
                     periodEnd: location.periodEnd, total: location.total, assigned: location.assigned, available: location.available,
                     readAt: Moments.iso8601(location.readAt))
        }
    }
}

public struct SubscriptionListView: Encodable, Sendable {
    public let subscriptions: [SubscriptionView]
    public init(_ subscriptions: [SubscriptionSeats]) { self.subscriptions = subscriptions.map(SubscriptionView.init) }
}

/// A token's opt-in to subscriptions, as Apple now records it (`token subscriptions`).
public struct SubscriptionManagementView: Encodable, Sendable {
    public let tokenId: Int64
    public let locationUid: String
    public let subscriptionManagement: Bool
    /// The subscriptions Apple lists at the location now.
    public let subscriptions: Int
    public init(_ change: SubscriptionManagementChange) {
        tokenId = change.tokenId.rawValue
        locationUid = change.locationUid
        subscriptionManagement = change.subscriptionManagement
        subscriptions = change.subscriptions
    }
}
