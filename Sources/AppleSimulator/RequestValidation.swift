import Foundation
import AppleAppsAndBooks

/// Apple's synchronous refusals of a write, checked as a flat ladder so the same request always
/// gets the same error: the shape (who), then the sizes, then duplicates, then the assets.
/// A refused request is refused whole (HTTP 400) and creates no event.
enum RequestValidation {
    /// The subjects (serial numbers, or client user ids) of a request that passed every check.
    struct Subjects {
        var ids: [String]
        var forUsers: Bool
    }

    /// The subjects of an associate or disassociate that passed every check.
    static func association(_ request: AssociationRequest, type: EventType, location uId: String,
                            assets: [SimulatedAsset], limits: ServiceLimits) throws -> Subjects {
        let subjects = try subjects(serialNumbers: request.serialNumbers, clientUserIds: request.clientUserIds)
        guard !request.assets.isEmpty else { throw invalid("no assets") }
        guard request.assets.count <= limits.maxAssets else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyAssets,
                                            detail: "\(request.assets.count) assets, at most \(limits.maxAssets)")
        }
        if subjects.forUsers {
            guard subjects.ids.count <= limits.maxClientUserIds else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyClientUserIds,
                                                detail: "\(subjects.ids.count) client user ids, at most \(limits.maxClientUserIds)")
            }
        } else {
            guard subjects.ids.count <= limits.maxSerialNumbers else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySerialNumbers,
                                                detail: "\(subjects.ids.count) serial numbers, at most \(limits.maxSerialNumbers)")
            }
        }
        guard Set(request.assets).count == request.assets.count else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.duplicateAssets)
        }
        try checkDistinct(subjects)
        for asset in request.assets {
            // Choice: an asset the location does not hold refuses the whole request (9602) rather
            // than failing one item later; asking for it is a bug in the caller, so say so loudly.
            guard let held = assets.first(where: { $0.key == asset }) else {
                throw invalid("location \(uId) has no asset \(asset.adamId):\(asset.pricingParam)")
            }
            // Users may hold what devices may not (books).
            if type == .associate, !subjects.forUsers, !held.deviceAssignable {
                throw ServiceErrorCatalog.error(AppleErrorNumber.notDeviceAssignable,
                                                detail: "\(asset.adamId):\(asset.pricingParam)")
            }
        }
        return subjects
    }

    /// The subjects of a revoke that passed every check.
    static func revoke(_ request: RevokeRequest, limits: ServiceLimits) throws -> Subjects {
        let subjects = try subjects(serialNumbers: request.serialNumbers, clientUserIds: request.clientUserIds)
        if subjects.forUsers {
            guard subjects.ids.count <= limits.maxRevokeClientUserIds else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyClientUserIds,
                                                detail: "\(subjects.ids.count) client user ids, at most \(limits.maxRevokeClientUserIds) to revoke")
            }
        } else {
            guard subjects.ids.count <= limits.maxRevokeSerialNumbers else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySerialNumbers,
                                                detail: "\(subjects.ids.count) serial numbers, at most \(limits.maxRevokeSerialNumbers) to revoke")
            }
        }
        try checkDistinct(subjects)
        return subjects
    }

    /// Exactly one of serial numbers and client user ids (Apple's rule: never both).
    private static func subjects(serialNumbers: [String]?, clientUserIds: [String]?) throws -> Subjects {
        let serials = serialNumbers ?? []
        let users = clientUserIds ?? []
        guard serials.isEmpty || users.isEmpty else { throw invalid("both serialNumbers and clientUserIds") }
        guard !users.isEmpty || !serials.isEmpty else { throw invalid("neither serialNumbers nor clientUserIds") }
        if !users.isEmpty {
            guard !users.contains(where: \.isEmpty) else { throw invalid("an empty client user id") }
            return Subjects(ids: users, forUsers: true)
        }
        guard !serials.contains(where: \.isEmpty) else { throw invalid("an empty serial number") }
        return Subjects(ids: serials, forUsers: false)
    }

    private static func checkDistinct(_ subjects: Subjects) throws {
        guard Set(subjects.ids).count == subjects.ids.count else {
            throw ServiceErrorCatalog.error(subjects.forUsers ? ServiceErrorCatalog.duplicateClientUserIds : AppleErrorNumber.duplicateSerialNumbers)
        }
    }

    /// `users/create`, `users/update`, `users/retire`: 1 to `maxUsers` users, each with a
    /// distinct, non-empty `clientUserId` (9602 otherwise; 9701 over the limit).
    static func manageUsers(_ request: ManageUsersRequest, limits: ServiceLimits) throws -> [String] {
        let ids = request.users.map(\.clientUserId)
        guard !ids.isEmpty else { throw invalid("no users") }
        guard ids.count <= limits.maxUsers else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyClientUserIds, detail: "\(ids.count) users, at most \(limits.maxUsers)")
        }
        guard !ids.contains(where: \.isEmpty) else { throw invalid("an empty clientUserId") }
        guard Set(ids).count == ids.count else { throw ServiceErrorCatalog.error(ServiceErrorCatalog.duplicateClientUserIds) }
        return ids
    }

    /// A subscriptions associate / disassociate: some subscriptions and some users, at most
    /// `maxSubscriptions` and `maxSubscriptionClientUserIds` distinct ones (else 9816); every
    /// subscription held by the location (else 9602, like an asset it does not hold).
    /// Answers the distinct ids, in the request's order.
    static func manageSubscriptions(_ request: ManageSubscriptionsRequest, location uId: String,
                                    held: [SimulatedSubscription], limits: ServiceLimits) throws -> (adamIds: [Int64], clientUserIds: [String]) {
        guard !request.adamIds.isEmpty else { throw invalid("no adamIds") }
        guard !request.clientUserIds.isEmpty else { throw invalid("no clientUserIds") }
        let adamIds = distinct(request.adamIds)
        let users = distinct(request.clientUserIds)
        guard adamIds.count <= limits.maxSubscriptions else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySubscriptionItems,
                                            detail: "\(adamIds.count) subscriptions, at most \(limits.maxSubscriptions)")
        }
        guard users.count <= limits.maxSubscriptionClientUserIds else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySubscriptionItems,
                                            detail: "\(users.count) client user ids, at most \(limits.maxSubscriptionClientUserIds)")
        }
        guard !users.contains(where: \.isEmpty) else { throw invalid("an empty client user id") }
        for adamId in adamIds where !held.contains(where: { $0.adamId == adamId }) {
            throw invalid("location \(uId) has no subscription \(adamId)")
        }
        return (adamIds, users)
    }

    private static func distinct<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }

    static func invalid(_ detail: String) -> AppleServiceError {
        ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument, detail: detail)
    }

    /// `POST /client/config`: all three fields present and within Apple's lengths, else 9723.
    static func mdmInfo(_ info: MDMInfo) throws {
        let fields: [(name: String, value: String, maxLength: Int)] = [
            ("id", info.id, MDMInfoLimits.idLengthMax),
            ("name", info.name, MDMInfoLimits.nameLengthMax),
            ("metadata", info.metadata, MDMInfoLimits.metadataLengthMax),
        ]
        for field in fields {
            guard !field.value.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.incompleteMDMInfo, detail: "mdmInfo.\(field.name) is empty")
            }
            guard field.value.count <= field.maxLength else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.incompleteMDMInfo,
                                                detail: "mdmInfo.\(field.name) is longer than \(field.maxLength)")
            }
        }
    }
}

/// Apple's limits on `mdmInfo` (APPLE.md, "Limits"), in characters.
enum MDMInfoLimits {
    static let idLengthMax = 100
    static let nameLengthMax = 100
    static let metadataLengthMax = 255
}
