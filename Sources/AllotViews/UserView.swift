import AllotCore
import AllotStore

/// A person as published (`users list`, `GET /v1/tenants/{slug}/users`).
public struct UserView: Encodable, Sendable {
    public let userId: String
    /// What Apple knows them by, at every location they are registered at.
    public let clientUserId: String
    @AlwaysPresent public var email: String?
    @AlwaysPresent public var managedAppleId: String?
    @AlwaysPresent public var group: String?
    public let retired: Bool

    public init(_ user: UserRecord) {
        userId = user.userId
        clientUserId = user.clientUserId
        email = user.email
        managedAppleId = user.managedAppleId
        group = user.group
        retired = user.retired
    }
}

public struct UserListView: Encodable, Sendable {
    public let users: [UserView]
    public init(_ users: [UserRecord]) { self.users = users.map(UserView.init) }
}

/// One user with the locations they are registered at and the licences they hold
/// (`users show`, `GET /v1/tenants/{slug}/users/{userId}`).
public struct UserDetailView: Encodable, Sendable {
    public struct Location: Encodable, Sendable {
        public let tokenId: Int64
        public let locationUid: String
        public let locationName: String
        /// registering, registered, associated, retiring or retired.
        public let status: String
        /// Apple's invitation, for a person without a Managed Apple Account to accept.
        @AlwaysPresent public var inviteCode: String?
        @AlwaysPresent public var inviteUrl: String?
    }
    public struct Licence: Encodable, Sendable {
        public let adamId: String
        public let pricingParam: String
        public let tokenId: Int64
        public let locationUid: String
        public let confirmed: Bool
    }
    public let user: UserView
    public let locations: [Location]
    public let licences: [Licence]

    public init(_ user: UserRecord, locations: [UserLocation], holdings: [UserHolding]) {
        self.user = UserView(user)
        self.locations = locations.map {
            Location(tokenId: $0.tokenId.rawValue, locationUid: $0.locationUid, locationName: $0.locationName, status: $0.status.rawValue,
                     inviteCode: $0.inviteCode, inviteUrl: $0.inviteUrl)
        }
        licences = holdings.map {
            Licence(adamId: $0.adamId, pricingParam: $0.pricingParam, tokenId: $0.tokenId.rawValue, locationUid: $0.locationUid, confirmed: $0.confirmed)
        }
    }
}

/// What `users retire` did.
public struct UserRetirementView: Encodable, Sendable {
    public let revoked: Int
    public let users: [String]
    public init(_ report: UserRetirement) {
        revoked = report.revoked
        users = report.users
    }
}

/// A user batch's answer as published: a device batch's shape, its items naming users.
public struct UserBatchView: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public let userId: String
        public let adamId: String
        public let pricingParam: String
        public let result: String
        @AlwaysPresent public var tokenId: Int64?
        @AlwaysPresent public var reason: String?
    }
    @AlwaysPresent public var batchId: Int64?
    public let direction: String
    public let mode: String
    public let committed: Bool
    @AlwaysPresent public var adamId: String?
    @AlwaysPresent public var pricingParam: String?
    public let counts: [String: Int]
    public let items: [Item]

    public init(_ outcome: UserBatchOutcome, asset: AssetKey?) {
        batchId = outcome.batchId?.rawValue
        direction = outcome.direction.rawValue
        mode = outcome.mode.rawValue
        committed = outcome.committed
        adamId = asset?.adamId
        pricingParam = asset?.pricingParam.rawValue
        counts = outcome.counts
        items = outcome.items.map {
            Item(userId: $0.userId, adamId: $0.adamId, pricingParam: $0.pricingParam.rawValue, result: $0.result.rawValue,
                 tokenId: $0.tokenId?.rawValue, reason: $0.reason)
        }
    }
}
