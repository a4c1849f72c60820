/// An error number Apple answered with (APPLE.md, "Error numbers that matter"), classified by
/// what the engine must do about it. Never carries the token.
public struct AppleServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errorNumber: Int
    public var message: String
    /// The HTTP status it came with (200 is possible: read the body, not the status).
    public var httpStatus: Int
    /// Seconds from `Retry-After`, when Apple sent one.
    public var retryAfterSeconds: Int?

    public init(errorNumber: Int, message: String, httpStatus: Int, retryAfterSeconds: Int? = nil) {
        self.errorNumber = errorNumber
        self.message = message
        self.httpStatus = httpStatus
        self.retryAfterSeconds = retryAfterSeconds
    }

    public enum Classification: Sendable, Hashable {
        /// The token can no longer be used: expired (9621), revoked (9625), invalid (9601/9622/9722).
        case tokenExpired, tokenRevoked, tokenInvalid
        /// Try again later: 9603, 9646 (429), 9729 (503), 9644 (maintenance).
        case retryLater
        /// The request was wrong: a bug in the engine (9602, 9700–9705).
        case ourBug
        /// An answer about an item: 9706 not revocable, 9707 not device-assignable,
        /// 9709 not enough licences, 9610 licence not found, 9616 already assigned,
        /// 9609 user not registered at the location (or retired).
        case itemRefused
        case other
    }

    public var classification: Classification {
        switch errorNumber {
        case 9621: .tokenExpired
        case 9625: .tokenRevoked
        case 9601, 9622, 9722: .tokenInvalid
        case 9603, 9646, 9729, 9644: .retryLater
        case 9602, 9700, 9701, 9702, 9703, 9705, 9723, 9816: .ourBug
        case 9706, 9707, 9709, 9610, 9616, 9609: .itemRefused
        default: httpStatus == 429 || httpStatus >= 500 ? .retryLater : .other
        }
    }

    public var description: String { "Apple error \(errorNumber): \(message)" }
}

/// Apple's error numbers, named where the engine or the simulator refers to them.
public enum AppleErrorNumber {
    public static let loginRequired = 9601
    public static let invalidArgument = 9602
    public static let internalError = 9603
    public static let tokenExpired = 9621
    public static let invalidAuthToken = 9622
    public static let tokenRevoked = 9625
    public static let maintenance = 9644
    public static let tooManyRequests = 9646
    public static let tooManyAssets = 9700
    public static let tooManyClientUserIds = 9701
    public static let tooManySerialNumbers = 9702
    public static let duplicateAssets = 9703
    public static let duplicateSerialNumbers = 9705
    public static let notRevocable = 9706
    public static let notDeviceAssignable = 9707
    public static let unknownEventId = 9708
    public static let notEnoughLicenses = 9709
    public static let badAuthorizationHeader = 9722
    public static let incompleteMDMInfo = 9723
    public static let temporarilyUnavailable = 9729
    public static let licenseNotFound = 9610
    public static let licenseAlreadyAssigned = 9616
    /// "Unable to find registered user.": a `clientUserId` not registered at the token's
    /// location, or retired (Apple's "Handling error responses").
    public static let userNotFound = 9609
    /// Over `maxSubscriptions` or `maxSubscriptionClientUserIds` in one subscriptions request.
    public static let tooManySubscriptionItems = 9816
    /// `POST /subscriptions/disable` while the location has subscriptions.
    public static let subscriptionsExist = 9818
}
