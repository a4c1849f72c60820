import Foundation

// Apple's users, field for field (Apple's "Managing users", `ManageUsersRequest`,
// `RequestUser`, `ResponseUser`, `GetUsersResponse`; APPLE.md, "People and subscriptions").
// Users are per location: a `clientUserId` chosen by the MDM is registered at the location of
// the token that created it, and licences of that location go to it by `clientUserIds` in the
// ordinary associate / disassociate / revoke calls.

/// A user as the MDM sends it to `users/create`, `users/update` and `users/retire`.
/// `clientUserId` is required; a `managedAppleId` associates the user at once (no invitation).
public struct RequestUser: Codable, Sendable, Hashable {
    public var clientUserId: String
    public var email: String?
    public var managedAppleId: String?
    public init(clientUserId: String, email: String? = nil, managedAppleId: String? = nil) {
        self.clientUserId = clientUserId
        self.email = email
        self.managedAppleId = managedAppleId
    }
}

/// The body of `POST /users/create`, `/users/update` and `/users/retire`: at most
/// `ServiceLimits.maxUsers` users. Each answers an `EventResponse` (the event's type is
/// `CREATE`, `UPDATE` or `RETIRE` in `GET /status`).
public struct ManageUsersRequest: Codable, Sendable, Hashable {
    public var users: [RequestUser]
    public init(users: [RequestUser]) {
        self.users = users
    }

    /// A retire request names users by their id only.
    public static func retiring(_ clientUserIds: [String]) -> ManageUsersRequest {
        ManageUsersRequest(users: clientUserIds.map { RequestUser(clientUserId: $0) })
    }
}

/// A user's state at a location, in Apple's spelling.
public enum AppleUserStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// Created, no Apple Account yet: it has an `inviteCode`.
    case registered = "Registered"
    /// An Apple Account accepted the invitation (or a Managed Apple Account was given): `idHash`.
    case associated = "Associated"
    case retired = "Retired"
    case deleted = "Deleted"
}

/// Apple's `ResponseUser`. Every field is optional in Apple's schema; `status` is kept as the
/// text Apple sent (`userStatus` reads it), so a new status does not fail a whole page.
public struct ResponseUser: Codable, Sendable, Hashable {
    public var clientUserId: String?
    public var email: String?
    /// Present once the user has an associated Apple Account (a retired user may keep it).
    public var idHash: String?
    /// Present while the user is `Registered`: goes into the invitation URL
    /// (`ServiceConfig.invitationURL(inviteCode:)`).
    public var inviteCode: String?
    /// `Registered`, `Associated`, `Retired` or `Deleted`.
    public var status: String?
    /// Apple's own id of the user: the legacy API's `userId`; v2's schema does not list it, so
    /// it is read when present and never required.
    public var userId: String?

    public var userStatus: AppleUserStatus? { status.flatMap(AppleUserStatus.init(rawValue:)) }

    public init(clientUserId: String?, email: String? = nil, idHash: String? = nil, inviteCode: String? = nil,
                status: String?, userId: String? = nil) {
        self.clientUserId = clientUserId
        self.email = email
        self.idHash = idHash
        self.inviteCode = inviteCode
        self.status = status
        self.userId = userId
    }

    private enum CodingKeys: String, CodingKey { case clientUserId, email, idHash, inviteCode, status, userId }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clientUserId = try container.decodeIfPresent(String.self, forKey: .clientUserId)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        idHash = try container.decodeIfPresent(String.self, forKey: .idHash)
        inviteCode = try container.decodeIfPresent(String.self, forKey: .inviteCode)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        // The legacy API sent it as a number.
        if let number = try? container.decodeIfPresent(Int64.self, forKey: .userId) {
            userId = String(number)
        } else {
            userId = try? container.decodeIfPresent(String.self, forKey: .userId)
        }
    }
}

/// `GET /users`: page-index paging like `/assignments`, with `sinceVersionId`.
public struct UsersQuery: Sendable, Hashable {
    public var pageIndex: Int
    public var clientUserId: String?
    public var sinceVersionId: String?
    /// Sent only when set. The simulator lists retired users unless this is `false` (Apple's
    /// example lists a retired user without it); say `true` or `false` to be sure.
    public var includeRetired: Bool?
    public init(pageIndex: Int = 0, clientUserId: String? = nil, sinceVersionId: String? = nil, includeRetired: Bool? = nil) {
        self.pageIndex = pageIndex
        self.clientUserId = clientUserId
        self.sinceVersionId = sinceVersionId
        self.includeRetired = includeRetired
    }
}

/// Apple's `GetUsersResponse`, read as strictly as `AssignmentsPage`: a page without its
/// `versionId` or counts cannot be paged safely, so it is a malformed answer, not a default.
public struct UsersPage: Codable, Sendable, Hashable {
    public var users: [ResponseUser]
    public var currentPageIndex: Int
    public var nextPageIndex: Int?
    public var totalPages: Int
    public var size: Int
    public var versionId: String
    public var uId: String?
    public var tokenExpirationDate: String?
    public var mdmInfo: MDMInfo?
    public init(users: [ResponseUser], currentPageIndex: Int, nextPageIndex: Int?, totalPages: Int, size: Int,
                versionId: String, uId: String?, tokenExpirationDate: String?, mdmInfo: MDMInfo?) {
        self.users = users
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

/// A user named by a 9616 ("License already assigned") failure with `regUsersAlreadyAssigned`:
/// another user registered at the location with the same Apple Account already holds the
/// asset. Apple documents these fields in the legacy API's spelling (`clientUserIdStr`,
/// `itsIdHash`); both spellings are read, the v2 one is written.
public struct AlreadyAssignedUser: Codable, Sendable, Hashable {
    public var clientUserId: String?
    public var idHash: String?
    public var email: String?
    public var status: String?
    public init(clientUserId: String?, idHash: String? = nil, email: String? = nil, status: String? = nil) {
        self.clientUserId = clientUserId
        self.idHash = idHash
        self.email = email
        self.status = status
    }

    private enum CodingKeys: String, CodingKey { case clientUserId, clientUserIdStr, idHash, itsIdHash, email, status }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clientUserId = try container.decodeIfPresent(String.self, forKey: .clientUserId)
            ?? container.decodeIfPresent(String.self, forKey: .clientUserIdStr)
        idHash = try container.decodeIfPresent(String.self, forKey: .idHash)
            ?? container.decodeIfPresent(String.self, forKey: .itsIdHash)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        status = try container.decodeIfPresent(String.self, forKey: .status)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(clientUserId, forKey: .clientUserId)
        try container.encodeIfPresent(idHash, forKey: .idHash)
        try container.encodeIfPresent(email, forKey: .email)
        try container.encodeIfPresent(status, forKey: .status)
    }
}

extension ServiceConfig {
    /// The key of the invitation template in `urls`.
    public static let invitationURLKey = "invitationEmail"

    /// The invitation link for a registered user: `urls.invitationEmail` with its placeholder
    /// (`%25inviteCode%25`, as Apple's page shows it, or `%inviteCode%`) replaced by the code,
    /// percent-encoded. Nil when the configuration has no template or it has no placeholder.
    public func invitationURL(inviteCode: String) -> String? {
        guard let template = urls[Self.invitationURLKey] else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".unicodeScalars)
        let encoded = inviteCode.unicodeScalars.map { scalar -> String in
            if allowed.contains(scalar) { return String(scalar) }
            return String(scalar).utf8.map { byte in
                let hex = String(byte, radix: 16, uppercase: true)
                return "%" + (hex.count == 1 ? "0" + hex : hex)
            }.joined()
        }.joined()
        for placeholder in ["%25inviteCode%25", "%inviteCode%"] where template.contains(placeholder) {
            return template.replacingOccurrences(of: placeholder, with: encoded)
        }
        return nil
    }
}
