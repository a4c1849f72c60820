import AllotCore
import AllotStore

/// A content token as published (`token list`, `GET /v1/tenants/{slug}/tokens`, token add and
/// renew). Never carries the file or any part of it.
public struct TokenView: Encodable, Sendable {
    public let id: Int64
    public let locationUid: String
    public let locationName: String
    public let orgName: String
    public let expiresAt: String
    /// Whole days left; negative once passed.
    public let expiresInDays: Int
    /// Within `tokenExpiryWarningDays` of expiry and not yet expired: time to renew.
    public let expiringSoon: Bool
    public let state: String
    /// Who manages the location when the state is `claimed_elsewhere`.
    @AlwaysPresent public var ownerName: String?
    public let priority: Int
    public let usable: Bool
    @AlwaysPresent public var lastSyncAt: String?

    public init(_ token: TokenRecord, now: Int64 = Moments.now) {
        id = token.id.rawValue
        locationUid = token.locationUid
        locationName = token.locationName
        orgName = token.orgName
        expiresAt = Moments.iso8601(token.expiresAt)
        expiresInDays = Moments.daysUntil(token.expiresAt, now: now)
        expiringSoon = TokenExpiry.isExpiringSoon(expiresAt: token.expiresAt, now: now)
        state = token.state.rawValue
        ownerName = token.ownerName
        priority = token.priority
        usable = token.isUsable(now: now)
        lastSyncAt = token.lastSyncAt.map(Moments.iso8601)
    }
}

public struct TokenListView: Encodable, Sendable {
    public let tokens: [TokenView]
    public init(_ tokens: [TokenRecord], now: Int64 = Moments.now) { self.tokens = tokens.map { TokenView($0, now: now) } }
}
