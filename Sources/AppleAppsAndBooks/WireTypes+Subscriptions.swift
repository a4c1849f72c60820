// Apple's auto-renewable subscription seats, field for field (Apple's "Managing subscriptions",
// `ResponseSubscription`, `SubscriptionCounts`, `ManageSubscriptionsRequest`,
// `ResponseSubscriptionAssignment`, `SubscriptionManagementResponse`; APPLE.md, "People and
// subscriptions"). Seats go to users only, never to devices. A token declares support first
// (`POST /subscriptions/enable`). Unlike assets, a subscription is one `adamId`, a number on
// the wire (int64), with no `pricingParam`.

/// A count split by renewal state.
public struct SubscriptionCountsBreakdown: Codable, Sendable, Hashable {
    public var renewing: Int
    public var expiring: Int
    public init(renewing: Int, expiring: Int) {
        self.renewing = renewing
        self.expiring = expiring
    }

    public static let zero = SubscriptionCountsBreakdown(renewing: 0, expiring: 0)
    public var sum: Int { renewing + expiring }

    private enum CodingKeys: String, CodingKey { case renewing, expiring }

    /// Apple marks both optional: an absent one reads 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        renewing = try container.decodeIfPresent(Int.self, forKey: .renewing) ?? 0
        expiring = try container.decodeIfPresent(Int.self, forKey: .expiring) ?? 0
    }
}

/// Apple's `SubscriptionCounts`. `assigned` is present only in `GET /subscriptions`; a
/// `SUBSCRIPTION_COUNT` notification carries `available` and `total` alone. Apple's invariant:
/// assigned.renewing + assigned.expiring + available.renewing + available.expiring
/// = total.renewing + total.expiring. `assigned` is split by the assignments' renewal state,
/// `total` by the licences' (a renewing seat assigned with `renewing: false` is
/// `assigned.expiring` and still `total.renewing`).
public struct SubscriptionCounts: Codable, Sendable, Hashable {
    public var assigned: SubscriptionCountsBreakdown?
    public var available: SubscriptionCountsBreakdown?
    public var total: SubscriptionCountsBreakdown?
    public init(assigned: SubscriptionCountsBreakdown?, available: SubscriptionCountsBreakdown?, total: SubscriptionCountsBreakdown?) {
        self.assigned = assigned
        self.available = available
        self.total = total
    }
}

/// A subscription's state, in Apple's spelling.
public enum AppleSubscriptionStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case active = "ACTIVE"
    case inactive = "INACTIVE"
    case paused = "PAUSED"
}

/// Apple's `ResponseSubscription`. `parentAdamId` (the app the subscription belongs to) may be
/// null. A subscription that had seats and has none is still listed, with every count 0.
public struct ResponseSubscription: Codable, Sendable, Hashable {
    public var adamId: Int64
    public var parentAdamId: Int64?
    /// `ACTIVE`, `INACTIVE` or `PAUSED`, as Apple sent it (`subscriptionStatus` reads it).
    public var status: String?
    /// The end of the current billing period, `YYYY-MM-DD` (UTC): renewing assignments roll
    /// over on it; expiring assignments and expiring seats end on it.
    public var periodEndDate: String?
    public var counts: SubscriptionCounts?

    public var subscriptionStatus: AppleSubscriptionStatus? { status.flatMap(AppleSubscriptionStatus.init(rawValue:)) }

    public init(adamId: Int64, parentAdamId: Int64?, status: String?, periodEndDate: String?, counts: SubscriptionCounts?) {
        self.adamId = adamId
        self.parentAdamId = parentAdamId
        self.status = status
        self.periodEndDate = periodEndDate
        self.counts = counts
    }

    private enum CodingKeys: String, CodingKey { case adamId, parentAdamId, status, periodEndDate, counts }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        adamId = try container.decodeAdamId(forKey: .adamId)
        parentAdamId = try container.decodeAdamIdIfPresent(forKey: .parentAdamId)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        periodEndDate = try container.decodeIfPresent(String.self, forKey: .periodEndDate)
        counts = try container.decodeIfPresent(SubscriptionCounts.self, forKey: .counts)
    }

    /// `parentAdamId` is written as null when absent, as Apple's example shows it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(adamId, forKey: .adamId)
        try container.encode(parentAdamId, forKey: .parentAdamId)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encodeIfPresent(periodEndDate, forKey: .periodEndDate)
        try container.encodeIfPresent(counts, forKey: .counts)
    }
}

/// Apple's `ResponseSubscriptionAssignment`: one user's seat of one subscription.
public struct ResponseSubscriptionAssignment: Codable, Sendable, Hashable {
    public var adamId: Int64
    public var clientUserId: String
    /// False: the seat ends with the current billing period (assigned expiring, or a deferred
    /// disassociation waiting for the period's end).
    public var renewing: Bool
    public init(adamId: Int64, clientUserId: String, renewing: Bool) {
        self.adamId = adamId
        self.clientUserId = clientUserId
        self.renewing = renewing
    }

    private enum CodingKeys: String, CodingKey { case adamId, clientUserId, renewing }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        adamId = try container.decodeAdamId(forKey: .adamId)
        clientUserId = try container.decode(String.self, forKey: .clientUserId)
        renewing = try container.decodeIfPresent(Bool.self, forKey: .renewing) ?? true
    }
}

/// `GET /subscriptions`: cursor paging (`cursor` from the previous page's `nextCursor`;
/// sequential only, never in parallel, no `sinceVersionId`).
public struct SubscriptionsQuery: Sendable, Hashable {
    public var cursor: String?
    public var adamId: Int64?
    public var parentAdamId: Int64?
    public init(cursor: String? = nil, adamId: Int64? = nil, parentAdamId: Int64? = nil) {
        self.cursor = cursor
        self.adamId = adamId
        self.parentAdamId = parentAdamId
    }
}

/// Apple's `GetSubscriptionsResponse`; the last page has no `nextCursor`.
public struct SubscriptionsPage: Codable, Sendable, Hashable {
    public var subscriptions: [ResponseSubscription]
    public var nextCursor: String?
    public var versionId: String?
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(subscriptions: [ResponseSubscription], nextCursor: String?, versionId: String?, uId: String?,
                tokenExpirationDate: String?, mdmInfo: MDMInfo?) {
        self.subscriptions = subscriptions
        self.nextCursor = nextCursor
        self.versionId = versionId
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }

    private enum CodingKeys: String, CodingKey { case subscriptions, nextCursor, versionId, uId, tokenExpirationDate, mdmInfo }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        subscriptions = try container.decodeIfPresent([ResponseSubscription].self, forKey: .subscriptions) ?? []
        nextCursor = try container.decodeIfPresent(String.self, forKey: .nextCursor)
        versionId = try container.decodeIfPresent(String.self, forKey: .versionId)
        uId = try container.decodeIfPresent(String.self, forKey: .uId)
        tokenExpirationDate = try container.decodeIfPresent(String.self, forKey: .tokenExpirationDate)
        mdmInfo = try container.decodeIfPresent(MDMInfo.self, forKey: .mdmInfo)
    }
}

/// `GET /subscriptions/assignments`: cursor paging like `SubscriptionsQuery`.
public struct SubscriptionAssignmentsQuery: Sendable, Hashable {
    public var cursor: String?
    public var adamId: Int64?
    public var parentAdamId: Int64?
    public var clientUserId: String?
    public init(cursor: String? = nil, adamId: Int64? = nil, parentAdamId: Int64? = nil, clientUserId: String? = nil) {
        self.cursor = cursor
        self.adamId = adamId
        self.parentAdamId = parentAdamId
        self.clientUserId = clientUserId
    }
}

/// Apple's `GetSubscriptionAssignmentsResponse`; the last page has no `nextCursor`.
public struct SubscriptionAssignmentsPage: Codable, Sendable, Hashable {
    public var assignments: [ResponseSubscriptionAssignment]
    public var nextCursor: String?
    public var versionId: String?
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(assignments: [ResponseSubscriptionAssignment], nextCursor: String?, versionId: String?, uId: String?,
                tokenExpirationDate: String?, mdmInfo: MDMInfo?) {
        self.assignments = assignments
        self.nextCursor = nextCursor
        self.versionId = versionId
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }

    private enum CodingKeys: String, CodingKey { case assignments, nextCursor, versionId, uId, tokenExpirationDate, mdmInfo }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        assignments = try container.decodeIfPresent([ResponseSubscriptionAssignment].self, forKey: .assignments) ?? []
        nextCursor = try container.decodeIfPresent(String.self, forKey: .nextCursor)
        versionId = try container.decodeIfPresent(String.self, forKey: .versionId)
        uId = try container.decodeIfPresent(String.self, forKey: .uId)
        tokenExpirationDate = try container.decodeIfPresent(String.self, forKey: .tokenExpirationDate)
        mdmInfo = try container.decodeIfPresent(MDMInfo.self, forKey: .mdmInfo)
    }
}

/// Apple's `ManageSubscriptionsRequest`, the body of `POST /subscriptions/associate` (with
/// `renewing`) and `POST /subscriptions/disassociate` (with `deferred`): subscriptions ×
/// users, at most `ServiceLimits.maxSubscriptions` and `maxSubscriptionClientUserIds`, else
/// 9816. Both answer an `EventResponse`.
public struct ManageSubscriptionsRequest: Codable, Sendable, Hashable {
    public var adamIds: [Int64]
    public var clientUserIds: [String]
    /// Associate only: true for renewing seats, false for seats that end with the period.
    public var renewing: Bool?
    /// Disassociate only: true keeps the seat until the period ends; false or absent ends it now.
    public var deferred: Bool?
    public init(adamIds: [Int64], clientUserIds: [String], renewing: Bool? = nil, deferred: Bool? = nil) {
        self.adamIds = adamIds
        self.clientUserIds = clientUserIds
        self.renewing = renewing
        self.deferred = deferred
    }

    private enum CodingKeys: String, CodingKey { case adamIds, clientUserIds, renewing, deferred }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var ids = try container.nestedUnkeyedContainer(forKey: .adamIds)
        var adamIds: [Int64] = []
        while !ids.isAtEnd {
            if let number = try? ids.decode(Int64.self) {
                adamIds.append(number)
            } else if let text = try? ids.decode(String.self), let number = Int64(text) {
                adamIds.append(number)
            } else {
                throw DecodingError.dataCorruptedError(in: ids, debugDescription: "an adamId is a whole number")
            }
        }
        self.adamIds = adamIds
        clientUserIds = try container.decode([String].self, forKey: .clientUserIds)
        renewing = try container.decodeIfPresent(Bool.self, forKey: .renewing)
        deferred = try container.decodeIfPresent(Bool.self, forKey: .deferred)
    }
}

/// Apple's `SubscriptionManagementResponse`, the answer of `POST /subscriptions/enable` and
/// `/subscriptions/disable`: the state recorded for the token's location.
public struct SubscriptionManagementResponse: Codable, Sendable, Hashable {
    public var subscriptionManagement: Bool?
    public var mdmInfo: MDMInfo?
    public var uId: String?
    public var tokenExpirationDate: String?
    public init(subscriptionManagement: Bool?, mdmInfo: MDMInfo? = nil, uId: String? = nil, tokenExpirationDate: String? = nil) {
        self.subscriptionManagement = subscriptionManagement
        self.mdmInfo = mdmInfo
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
    }
}

extension KeyedDecodingContainer {
    /// An Adam ID as Apple's subscription schema has it (a number), or as a string of digits,
    /// as Apple's asset answers spell theirs.
    func decodeAdamId(forKey key: Key) throws -> Int64 {
        if let number = try? decode(Int64.self, forKey: key) { return number }
        let text = try decode(String.self, forKey: key)
        guard let number = Int64(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "an adamId is a whole number")
        }
        return number
    }

    func decodeAdamIdIfPresent(forKey key: Key) throws -> Int64? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeAdamId(forKey: key)
    }
}
