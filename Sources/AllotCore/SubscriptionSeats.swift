/// A seat count split by renewal, as Apple splits it (`SubscriptionCounts`).
public struct SeatCount: Sendable, Hashable, Codable {
    public var renewing: Int
    public var expiring: Int
    public init(renewing: Int, expiring: Int) {
        self.renewing = renewing
        self.expiring = expiring
    }

    public static let zero = SeatCount(renewing: 0, expiring: 0)
    public var sum: Int { renewing + expiring }

    static func + (lhs: SeatCount, rhs: SeatCount) -> SeatCount {
        SeatCount(renewing: lhs.renewing + rhs.renewing, expiring: lhs.expiring + rhs.expiring)
    }
}

/// One subscription at one token's location, as Apple last counted it (`GET /subscriptions` at
/// sync, a `SUBSCRIPTION_COUNT` since).
public struct TokenSubscriptionSeats: Sendable, Hashable, Codable {
    public var tokenId: TokenID
    public var locationUid: String
    public var adamId: Int64
    public var parentAdamId: Int64?
    /// Apple's spelling: `ACTIVE`, `INACTIVE` or `PAUSED`; nil when Apple sent none.
    public var status: String?
    /// Apple's `periodEndDate`, `YYYY-MM-DD` (UTC).
    public var periodEnd: String?
    public var total: SeatCount
    public var assigned: SeatCount
    public var available: SeatCount
    /// When Apple's numbers were read (Unix seconds).
    public var readAt: Int64

    public init(tokenId: TokenID, locationUid: String, adamId: Int64, parentAdamId: Int64?, status: String?, periodEnd: String?,
                total: SeatCount, assigned: SeatCount, available: SeatCount, readAt: Int64) {
        self.tokenId = tokenId
        self.locationUid = locationUid
        self.adamId = adamId
        self.parentAdamId = parentAdamId
        self.status = status
        self.periodEnd = periodEnd
        self.total = total
        self.assigned = assigned
        self.available = available
        self.readAt = readAt
    }
}

/// A subscription's seats merged across a tenant's tokens, as `allot subscriptions list` shows
/// them: one line per subscription (`adamId`), whichever locations bought its seats.
public struct SubscriptionSeats: Sendable, Hashable, Codable {
    public var adamId: Int64
    public var parentAdamId: Int64?
    /// `ACTIVE` when any location's is (seats can be given there); else the locations' one
    /// status, or the first in alphabetical order when they differ.
    public var status: String?
    /// The earliest period end of the locations: when seats set to expire next go.
    public var periodEnd: String?
    public var total: SeatCount
    public var assigned: SeatCount
    public var available: SeatCount
    /// Each location's own numbers, by token id.
    public var locations: [TokenSubscriptionSeats]

    /// Merges per-token rows into one per subscription, ordered by `adamId`.
    public static func merge(_ rows: [TokenSubscriptionSeats]) -> [SubscriptionSeats] {
        Dictionary(grouping: rows, by: \.adamId).map { adamId, group in
            let locations = group.sorted { $0.tokenId.rawValue < $1.tokenId.rawValue }
            let statuses = Set(locations.compactMap(\.status))
            return SubscriptionSeats(
                adamId: adamId,
                parentAdamId: locations.lazy.compactMap(\.parentAdamId).first,
                status: statuses.contains("ACTIVE") ? "ACTIVE" : statuses.sorted().first,
                // YYYY-MM-DD sorts as the dates do.
                periodEnd: locations.compactMap(\.periodEnd).min(),
                total: locations.reduce(.zero) { $0 + $1.total },
                assigned: locations.reduce(.zero) { $0 + $1.assigned },
                available: locations.reduce(.zero) { $0 + $1.available },
                locations: locations)
        }.sorted { $0.adamId < $1.adamId }
    }
}
