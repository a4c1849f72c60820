import AppleAppsAndBooks

/// The error numbers the simulator answers, with Apple's HTTP status and a message in Apple's
/// manner. One table, so `serviceConfig().errorCodes` and the thrown errors cannot disagree.
enum ServiceErrorCatalog {
    // Numbers only the simulator names (APPLE.md, "More of Apple's rules").
    static let gone = 9634
    static let forbidden = 9637
    static let forbiddenForToken = 9647
    static let invalidNotificationURL = 9710
    static let invalidNotificationAuthToken = 9711
    static let invalidNotificationType = 9712
    static let unknownVersionId = 9721
    static let testNotificationFailed = 9728
    /// Duplicate client user ids in one request: between Apple's 9703 (assets) and 9705
    /// (serials); Apple's pages do not print the number (docs/design.md).
    static let duplicateClientUserIds = 9704

    struct Entry {
        var number: Int
        var httpStatus: Int
        var message: String
    }

    static let entries: [Entry] = [
        Entry(number: AppleErrorNumber.loginRequired, httpStatus: 401, message: "Login required"),
        Entry(number: AppleErrorNumber.invalidArgument, httpStatus: 400, message: "Invalid argument"),
        Entry(number: AppleErrorNumber.internalError, httpStatus: 500, message: "Internal error"),
        Entry(number: AppleErrorNumber.tokenExpired, httpStatus: 401, message: "The sToken has expired."),
        Entry(number: AppleErrorNumber.invalidAuthToken, httpStatus: 401, message: "Invalid authentication token"),
        Entry(number: AppleErrorNumber.tokenRevoked, httpStatus: 401, message: "The server has revoked the sToken."),
        Entry(number: AppleErrorNumber.maintenance, httpStatus: 503, message: "The service is in maintenance mode"),
        Entry(number: AppleErrorNumber.tooManyRequests, httpStatus: 429, message: "Too many requests"),
        Entry(number: AppleErrorNumber.tooManyAssets, httpStatus: 400, message: "Too many assets in the request"),
        Entry(number: AppleErrorNumber.tooManyClientUserIds, httpStatus: 400, message: "Too many client user ids in the request"),
        Entry(number: AppleErrorNumber.tooManySerialNumbers, httpStatus: 400, message: "Too many serial numbers in the request"),
        Entry(number: AppleErrorNumber.duplicateAssets, httpStatus: 400, message: "Duplicate assets in the request"),
        Entry(number: AppleErrorNumber.duplicateSerialNumbers, httpStatus: 400, message: "Duplicate serial numbers in the request"),
        Entry(number: AppleErrorNumber.notRevocable, httpStatus: 400, message: "The asset is not revocable"),
        Entry(number: AppleErrorNumber.notDeviceAssignable, httpStatus: 400, message: "The asset cannot be assigned to a device"),
        Entry(number: AppleErrorNumber.notEnoughLicenses, httpStatus: 200, message: "Not enough licenses"),
        Entry(number: AppleErrorNumber.badAuthorizationHeader, httpStatus: 401, message: "Invalid Authorization header"),
        Entry(number: AppleErrorNumber.incompleteMDMInfo, httpStatus: 400, message: "mdmInfo is missing, incomplete or too long"),
        Entry(number: AppleErrorNumber.temporarilyUnavailable, httpStatus: 503, message: "The service is temporarily unavailable"),
        Entry(number: gone, httpStatus: 410, message: "The resource is no longer available"),
        Entry(number: forbidden, httpStatus: 403, message: "Forbidden"),
        Entry(number: forbiddenForToken, httpStatus: 403, message: "This token is not allowed to make the request"),
        Entry(number: invalidNotificationURL, httpStatus: 400, message: "Invalid notificationUrl"),
        Entry(number: invalidNotificationAuthToken, httpStatus: 400, message: "Invalid notificationAuthToken"),
        Entry(number: invalidNotificationType, httpStatus: 400, message: "Invalid notificationTypes"),
        Entry(number: unknownVersionId, httpStatus: 400, message: "Unknown sinceVersionId"),
        Entry(number: testNotificationFailed, httpStatus: 400, message: "The test notification could not be delivered"),
        Entry(number: duplicateClientUserIds, httpStatus: 400, message: "Duplicate client user ids in the request"),
        Entry(number: AppleErrorNumber.userNotFound, httpStatus: 200, message: "Unable to find registered user."),
        Entry(number: AppleErrorNumber.licenseAlreadyAssigned, httpStatus: 200, message: "License already assigned"),
        Entry(number: AppleErrorNumber.tooManySubscriptionItems, httpStatus: 400,
              message: "This request exceeds the maximum subscriptions limit. Change the request to stay within the specified limit."),
        Entry(number: AppleErrorNumber.subscriptionsExist, httpStatus: 400,
              message: "Subscriptions exist for the organizational unit, so subscription management can't be disabled."),
    ]

    static func entry(_ number: Int) -> Entry {
        guard let entry = entries.first(where: { $0.number == number }) else {
            preconditionFailure("the simulator answered error \(number), which is not in its catalog")
        }
        return entry
    }

    /// The error a synchronous answer throws; `detail` says what exactly was wrong, for whoever
    /// debugs the engine (Apple's own messages are terse).
    static func error(_ number: Int, detail: String? = nil, retryAfterSeconds: Int? = nil) -> AppleServiceError {
        let entry = entry(number)
        let message = detail.map { "\(entry.message): \($0)" } ?? entry.message
        return AppleServiceError(errorNumber: number, message: message, httpStatus: entry.httpStatus,
                                 retryAfterSeconds: retryAfterSeconds)
    }

    /// An item's failure inside an event's `failures[]`.
    static func failure(_ number: Int, assets: [WireAssetKey], serialNumbers: [String]) -> EventFailure {
        EventFailure(errorNumber: number, errorMessage: entry(number).message,
                     errorInfo: EventFailureInfo(assets: assets, serialNumbers: serialNumbers))
    }

    /// An item's failure of users or subscriptions: the users, and the assets or subscriptions.
    static func failure(_ number: Int, assets: [WireAssetKey]? = nil, clientUserIds: [String], adamIds: [Int64]? = nil,
                        regUsersAlreadyAssigned: [AlreadyAssignedUser]? = nil) -> EventFailure {
        EventFailure(errorNumber: number, errorMessage: entry(number).message,
                     errorInfo: EventFailureInfo(assets: assets, clientUserIds: clientUserIds,
                                                 regUsersAlreadyAssigned: regUsersAlreadyAssigned, adamIds: adamIds))
    }

    static var wireCodes: [ServiceErrorCode] {
        entries.map { ServiceErrorCode(errorNumber: $0.number, errorMessage: $0.message) }
    }
}
