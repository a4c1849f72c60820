// Apple's JSON, field for field (APPLE.md, "Endpoints"). Names here are Apple's words; the engine
// translates them into its own vocabulary in one place.

/// Who manages a location. `id` is a stable UUID per server installation and tenant.
public struct MDMInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var metadata: String
    public init(id: String, name: String, metadata: String) {
        self.id = id
        self.name = name
        self.metadata = metadata
    }
}

/// The part every answer carries: check `mdmInfo` on each one.
public struct ResponseHeader: Codable, Sendable, Hashable {
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(uId: String? = nil, tokenExpirationDate: String? = nil, mdmInfo: MDMInfo? = nil) {
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }
}

public struct ServiceLimits: Codable, Sendable, Hashable {
    public var maxAssets: Int
    public var maxSerialNumbers: Int
    public var maxClientUserIds: Int
    public var maxRevokeSerialNumbers: Int
    public var maxRevokeClientUserIds: Int
    public var maxRequestPerSecond: Int
    /// Users in one `users/create`, `users/update` or `users/retire` (Apple's "Managing users").
    public var maxUsers: Int
    /// Distinct subscriptions in one subscriptions associate / disassociate (else 9816).
    public var maxSubscriptions: Int
    /// Distinct users in one subscriptions associate / disassociate (else 9816).
    public var maxSubscriptionClientUserIds: Int
    /// Apple's published example values; read the live ones from `GET /service/config`.
    public static let appleDefaults = ServiceLimits(
        maxAssets: 25, maxSerialNumbers: 1000, maxClientUserIds: 1000,
        maxRevokeSerialNumbers: 100, maxRevokeClientUserIds: 100, maxRequestPerSecond: 15,
        maxUsers: 100, maxSubscriptions: 25, maxSubscriptionClientUserIds: 1000
    )
    public init(maxAssets: Int, maxSerialNumbers: Int, maxClientUserIds: Int,
                maxRevokeSerialNumbers: Int, maxRevokeClientUserIds: Int, maxRequestPerSecond: Int,
                maxUsers: Int = 100, maxSubscriptions: Int = 25, maxSubscriptionClientUserIds: Int = 1000) {
        self.maxAssets = maxAssets
        self.maxSerialNumbers = maxSerialNumbers
        self.maxClientUserIds = maxClientUserIds
        self.maxRevokeSerialNumbers = maxRevokeSerialNumbers
        self.maxRevokeClientUserIds = maxRevokeClientUserIds
        self.maxRequestPerSecond = maxRequestPerSecond
        self.maxUsers = maxUsers
        self.maxSubscriptions = maxSubscriptions
        self.maxSubscriptionClientUserIds = maxSubscriptionClientUserIds
    }
}

public struct ServiceErrorCode: Codable, Sendable, Hashable {
    public var errorNumber: Int
    public var errorMessage: String
    public init(errorNumber: Int, errorMessage: String) {
        self.errorNumber = errorNumber
        self.errorMessage = errorMessage
    }
}

extension ServiceLimits {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case maxAssets, maxSerialNumbers, maxClientUserIds, maxRevokeSerialNumbers, maxRevokeClientUserIds, maxRequestPerSecond
        case maxUsers, maxSubscriptions, maxSubscriptionClientUserIds

        /// The limits of users and subscriptions: read like the others, but not named in
        /// `defaultedLimits` when absent (Apple's examples of device calls leave them out, and
        /// a client of devices alone has nothing to warn about).
        var isOfUsersOrSubscriptions: Bool {
            switch self {
            case .maxUsers, .maxSubscriptions, .maxSubscriptionClientUserIds: true
            default: false
            }
        }
    }

    /// Read limit by limit: Apple's own examples leave some out, and a missing limit must not
    /// cost the ones that are present (a live `maxSerialNumbers` of 1 must be obeyed even when
    /// `maxRequestPerSecond` is absent). A limit that is absent, not a whole number or not
    /// positive keeps Apple's published value; `ServiceConfig.defaultedLimits` names them.
    public init(from decoder: any Decoder) throws {
        self = Self.decoded(try decoder.container(keyedBy: CodingKeys.self)).limits
    }

    private static func decoded(_ container: KeyedDecodingContainer<CodingKeys>) -> (limits: ServiceLimits, defaulted: [String]) {
        var defaulted: [String] = []
        func limit(_ key: CodingKeys, _ fallback: Int) -> Int {
            if let value = (try? container.decodeIfPresent(Int.self, forKey: key)) ?? nil, value > 0 { return value }
            if !key.isOfUsersOrSubscriptions { defaulted.append(key.stringValue) }
            return fallback
        }
        let defaults = ServiceLimits.appleDefaults
        let limits = ServiceLimits(
            maxAssets: limit(.maxAssets, defaults.maxAssets), maxSerialNumbers: limit(.maxSerialNumbers, defaults.maxSerialNumbers),
            maxClientUserIds: limit(.maxClientUserIds, defaults.maxClientUserIds),
            maxRevokeSerialNumbers: limit(.maxRevokeSerialNumbers, defaults.maxRevokeSerialNumbers),
            maxRevokeClientUserIds: limit(.maxRevokeClientUserIds, defaults.maxRevokeClientUserIds),
            maxRequestPerSecond: limit(.maxRequestPerSecond, defaults.maxRequestPerSecond),
            maxUsers: limit(.maxUsers, defaults.maxUsers), maxSubscriptions: limit(.maxSubscriptions, defaults.maxSubscriptions),
            maxSubscriptionClientUserIds: limit(.maxSubscriptionClientUserIds, defaults.maxSubscriptionClientUserIds))
        return (limits, defaulted)
    }

    /// The limits of a `service/config` answer and the names of those that kept Apple's
    /// published value; every limit defaulted when `limits` itself is absent.
    static func decodedLeniently<Outer: CodingKey>(in container: KeyedDecodingContainer<Outer>, forKey key: Outer) -> (limits: ServiceLimits, defaulted: [String]) {
        guard let nested = try? container.nestedContainer(keyedBy: CodingKeys.self, forKey: key) else {
            return (.appleDefaults, CodingKeys.allCases.filter { !$0.isOfUsersOrSubscriptions }.map(\.stringValue))
        }
        return decoded(nested)
    }
}

public struct ServiceConfig: Codable, Sendable, Hashable {
    public var limits: ServiceLimits
    public var errorCodes: [ServiceErrorCode]
    public var urls: [String: String]
    public var notificationTypes: [String]
    /// The limits Apple's answer did not give (or gave unreadably), kept at Apple's published
    /// values. Not part of Apple's JSON.
    public var defaultedLimits: [String] = []

    private enum CodingKeys: String, CodingKey { case limits, errorCodes, urls, notificationTypes }

    public init(limits: ServiceLimits, errorCodes: [ServiceErrorCode], urls: [String: String], notificationTypes: [String]) {
        self.limits = limits
        self.errorCodes = errorCodes
        self.urls = urls
        self.notificationTypes = notificationTypes
    }

    /// Every part is optional: Apple's "setting up" example has `limits` and `urls` only.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let decoded = ServiceLimits.decodedLeniently(in: container, forKey: .limits)
        limits = decoded.limits
        defaultedLimits = decoded.defaulted
        errorCodes = try container.decodeIfPresent([ServiceErrorCode].self, forKey: .errorCodes) ?? []
        urls = try container.decodeIfPresent([String: String].self, forKey: .urls) ?? [:]
        notificationTypes = try container.decodeIfPresent([String].self, forKey: .notificationTypes) ?? []
    }
}

public struct ClientConfig: Codable, Sendable, Hashable {
    public var uId: String
    public var locationName: String
    public var countryISO2ACode: String?
    public var defaultPlatform: String?
    /// Apple's expiry of the token; Apple sends it only within 15 days of expiry.
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public var notificationUrl: String?
    /// The request's name for the types; Apple's answers say `subscribedNotificationTypes`.
    public var notificationTypes: [String]?
    /// The notification types the location is subscribed to, as Apple's answer names them.
    public var subscribedNotificationTypes: [String]?
    public init(uId: String, locationName: String, countryISO2ACode: String? = nil, defaultPlatform: String? = nil,
                tokenExpirationDate: String?, mdmInfo: MDMInfo?, notificationUrl: String? = nil, notificationTypes: [String]? = nil,
                subscribedNotificationTypes: [String]? = nil) {
        self.uId = uId
        self.locationName = locationName
        self.countryISO2ACode = countryISO2ACode
        self.defaultPlatform = defaultPlatform
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
        self.notificationUrl = notificationUrl
        self.notificationTypes = notificationTypes
        self.subscribedNotificationTypes = subscribedNotificationTypes
    }
}

public struct ClientConfigRequest: Codable, Sendable, Hashable {
    public var mdmInfo: MDMInfo
    public var notificationUrl: String?
    public var notificationAuthToken: String?
    public var notificationTypes: [String]?
    public init(mdmInfo: MDMInfo, notificationUrl: String? = nil, notificationAuthToken: String? = nil, notificationTypes: [String]? = nil) {
        self.mdmInfo = mdmInfo
        self.notificationUrl = notificationUrl
        self.notificationAuthToken = notificationAuthToken
        self.notificationTypes = notificationTypes
    }
}

public struct AssetsQuery: Sendable, Hashable {
    public var pageIndex: Int
    public var adamId: String?
    public var pricingParam: String?
    /// Apple's `unlimited=true`: unlimited free assets come apart, in `unlimitedAssets`, without
    /// counts; without it their `totalCount` reads 2147483647.
    public var unlimited: Bool?
    public init(pageIndex: Int = 0, adamId: String? = nil, pricingParam: String? = nil, unlimited: Bool? = nil) {
        self.pageIndex = pageIndex
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.unlimited = unlimited
    }
}

/// Apple's `UnlimitedResponseAsset`: a free asset without a limit, as answered when `unlimited`
/// is asked; it has no total, available or retired count.
public struct WireUnlimitedAsset: Codable, Sendable, Hashable {
    public var adamId: String
    public var pricingParam: String
    public var productType: String
    public var assignedCount: Int
    public var deviceAssignable: Bool
    public var revocable: Bool
    public var supportedPlatforms: [String]
    public init(adamId: String, pricingParam: String, productType: String, assignedCount: Int, deviceAssignable: Bool,
                revocable: Bool, supportedPlatforms: [String]) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.productType = productType
        self.assignedCount = assignedCount
        self.deviceAssignable = deviceAssignable
        self.revocable = revocable
        self.supportedPlatforms = supportedPlatforms
    }
}

public struct WireAsset: Codable, Sendable, Hashable {
    public var adamId: String
    public var pricingParam: String
    public var productType: String
    public var totalCount: Int
    public var assignedCount: Int
    public var availableCount: Int
    public var retiredCount: Int
    public var deviceAssignable: Bool
    public var revocable: Bool
    public var supportedPlatforms: [String]
    public init(adamId: String, pricingParam: String, productType: String, totalCount: Int, assignedCount: Int,
                availableCount: Int, retiredCount: Int, deviceAssignable: Bool, revocable: Bool, supportedPlatforms: [String]) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.productType = productType
        self.totalCount = totalCount
        self.assignedCount = assignedCount
        self.availableCount = availableCount
        self.retiredCount = retiredCount
        self.deviceAssignable = deviceAssignable
        self.revocable = revocable
        self.supportedPlatforms = supportedPlatforms
    }
}

public struct AssetsPage: Codable, Sendable, Hashable {
    public var assets: [WireAsset]
    public var currentPageIndex: Int
    public var nextPageIndex: Int?
    public var totalPages: Int
    public var size: Int
    public var versionId: String
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    /// Present only when `unlimited` was asked (see `AssetsQuery.unlimited`).
    public var unlimitedAssets: [WireUnlimitedAsset]?
    public init(assets: [WireAsset], currentPageIndex: Int, nextPageIndex: Int?, totalPages: Int, size: Int,
                versionId: String, uId: String?, tokenExpirationDate: String?, mdmInfo: MDMInfo?,
                unlimitedAssets: [WireUnlimitedAsset]? = nil) {
        self.unlimitedAssets = unlimitedAssets
        self.assets = assets
        self.currentPageIndex = currentPageIndex
        self.nextPageIndex = nextPageIndex
        self.totalPages = totalPages
        self.size = size
        self.versionId = versionId
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }
}

public struct AssignmentsQuery: Sendable, Hashable {
    public var pageIndex: Int
    public var adamId: String?
    public var pricingParam: String?
    public var serialNumber: String?
    public var sinceVersionId: String?
    /// The assignments of one user (never with `serialNumber`).
    public var clientUserId: String?
    public init(pageIndex: Int = 0, adamId: String? = nil, pricingParam: String? = nil,
                serialNumber: String? = nil, sinceVersionId: String? = nil, clientUserId: String? = nil) {
        self.pageIndex = pageIndex
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.serialNumber = serialNumber
        self.sinceVersionId = sinceVersionId
        self.clientUserId = clientUserId
    }
}

public struct WireAssignment: Codable, Sendable, Hashable {
    public var adamId: String
    public var pricingParam: String
    public var serialNumber: String?
    public var clientUserId: String?
    public init(adamId: String, pricingParam: String, serialNumber: String? = nil, clientUserId: String? = nil) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.serialNumber = serialNumber
        self.clientUserId = clientUserId
    }
}

public struct AssignmentsPage: Codable, Sendable, Hashable {
    public var assignments: [WireAssignment]
    public var currentPageIndex: Int
    public var nextPageIndex: Int?
    public var totalPages: Int
    public var size: Int
    public var versionId: String
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(assignments: [WireAssignment], currentPageIndex: Int, nextPageIndex: Int?, totalPages: Int, size: Int,
                versionId: String, uId: String?, tokenExpirationDate: String?, mdmInfo: MDMInfo?) {
        self.assignments = assignments
        self.currentPageIndex = currentPageIndex
        self.nextPageIndex = nextPageIndex
        self.totalPages = totalPages
        self.size = size
        self.versionId = versionId
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }
}

public struct WireAssetKey: Codable, Sendable, Hashable {
    public var adamId: String
    public var pricingParam: String
    public init(adamId: String, pricingParam: String) {
        self.adamId = adamId
        self.pricingParam = pricingParam
    }
}

/// The body of associate and disassociate: assets × serials (or client user ids, never both:
/// Apple refuses a request with both, 9602). `clientUserIds` are users registered at the
/// token's location (`AppleUsersService`), at most `ServiceLimits.maxClientUserIds`.
public struct AssociationRequest: Codable, Sendable, Hashable {
    public var assets: [WireAssetKey]
    public var serialNumbers: [String]?
    public var clientUserIds: [String]?
    public init(assets: [WireAssetKey], serialNumbers: [String]? = nil, clientUserIds: [String]? = nil) {
        self.assets = assets
        self.serialNumbers = serialNumbers
        self.clientUserIds = clientUserIds
    }

    /// Assets for users: `serialNumbers` left out.
    public static func users(_ clientUserIds: [String], assets: [WireAssetKey]) -> AssociationRequest {
        AssociationRequest(assets: assets, serialNumbers: nil, clientUserIds: clientUserIds)
    }
}

/// Every revocable asset of the devices or of the users (never both), at most
/// `maxRevokeSerialNumbers` / `maxRevokeClientUserIds`.
public struct RevokeRequest: Codable, Sendable, Hashable {
    public var serialNumbers: [String]?
    public var clientUserIds: [String]?
    public init(serialNumbers: [String]? = nil, clientUserIds: [String]? = nil) {
        self.serialNumbers = serialNumbers
        self.clientUserIds = clientUserIds
    }

    public static func users(_ clientUserIds: [String]) -> RevokeRequest {
        RevokeRequest(serialNumbers: nil, clientUserIds: clientUserIds)
    }
}

public struct EventResponse: Codable, Sendable, Hashable {
    public var eventId: String
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(eventId: String, uId: String? = nil, tokenExpirationDate: String? = nil, mdmInfo: MDMInfo? = nil) {
        self.eventId = eventId
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }
}

public struct EventFailureInfo: Codable, Sendable, Hashable {
    public var assets: [WireAssetKey]?
    public var serialNumbers: [String]?
    /// The users whose item failed (9609 unregistered, 9616, 9709, …).
    public var clientUserIds: [String]?
    /// With 9616: the other users of the location, registered with the same Apple Account,
    /// who already hold the asset (Apple's `regUsersAlreadyAssigned`): one person, two ids.
    public var regUsersAlreadyAssigned: [AlreadyAssignedUser]?
    /// Subscriptions' failures name subscriptions by number (`ManageSubscriptionsRequest`).
    public var adamIds: [Int64]?
    public init(assets: [WireAssetKey]? = nil, serialNumbers: [String]? = nil, clientUserIds: [String]? = nil,
                regUsersAlreadyAssigned: [AlreadyAssignedUser]? = nil, adamIds: [Int64]? = nil) {
        self.assets = assets
        self.serialNumbers = serialNumbers
        self.clientUserIds = clientUserIds
        self.regUsersAlreadyAssigned = regUsersAlreadyAssigned
        self.adamIds = adamIds
    }
}

public struct EventFailure: Codable, Sendable, Hashable {
    public var errorNumber: Int
    public var errorMessage: String
    public var errorInfo: EventFailureInfo?
    public init(errorNumber: Int, errorMessage: String, errorInfo: EventFailureInfo?) {
        self.errorNumber = errorNumber
        self.errorMessage = errorMessage
        self.errorInfo = errorInfo
    }
}

public struct EventStatus: Codable, Sendable, Hashable {
    /// `PENDING`, `COMPLETE` or `FAILED`.
    public var eventStatus: String
    /// `ASSOCIATE`, `DISASSOCIATE`, `REVOKE`; for users `CREATE`, `UPDATE`, `RETIRE`.
    public var eventType: String
    public var numRequested: Int
    public var numCompleted: Int
    public var failures: [EventFailure]?
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(eventStatus: String, eventType: String, numRequested: Int, numCompleted: Int, failures: [EventFailure]?,
                uId: String? = nil, tokenExpirationDate: String? = nil, mdmInfo: MDMInfo? = nil) {
        self.eventStatus = eventStatus
        self.eventType = eventType
        self.numRequested = numRequested
        self.numCompleted = numCompleted
        self.failures = failures
        self.uId = uId
        self.tokenExpirationDate = tokenExpirationDate
        self.mdmInfo = mdmInfo
    }
}

/// Apple's error body: `{"errorNumber": 9625, "errorMessage": "..."}`.
public struct WireError: Codable, Sendable, Hashable {
    public var errorNumber: Int
    public var errorMessage: String
    public init(errorNumber: Int, errorMessage: String) {
        self.errorNumber = errorNumber
        self.errorMessage = errorMessage
    }
}
