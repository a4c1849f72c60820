import AllotStore

/// An app's merged pool as published (`apps`, `GET /v1/tenants/{slug}/apps`).
public struct AppView: Encodable, Sendable {
    public struct TokenShare: Encodable, Sendable {
        public let id: Int64
        public let locationUid: String
        public let total: Int
        /// Licences in use at the location, this server's and others'.
        public let assigned: Int
        /// Of those, this server's.
        public let assignedHere: Int
        public let available: Int
        public let usable: Bool
        /// An unlimited free asset: `total` and `available` are Apple's marker, not a count.
        public let unlimited: Bool
    }
    public let adamId: String
    public let pricingParam: String
    public let productType: String
    public let deviceAssignable: Bool
    /// Over usable tokens only.
    public let total: Int
    public let assigned: Int
    public let available: Int
    public let overAllocated: Int
    /// Assignments held on tokens that supply no new licences.
    public let assignedOnUnusableTokens: Int
    /// `total` and `available` of an unlimited free asset are Apple's marker, not a count.
    public let unlimited: Bool
    public let tokens: [TokenShare]

    public init(_ pool: MergedPool) {
        adamId = pool.adamId
        pricingParam = pool.pricingParam
        productType = pool.productType
        deviceAssignable = pool.deviceAssignable
        total = pool.total
        assigned = pool.assigned
        available = pool.available
        overAllocated = pool.overAllocated
        assignedOnUnusableTokens = pool.assignedOnUnusableTokens
        unlimited = pool.unlimited
        tokens = pool.tokens.map {
            TokenShare(id: $0.id.rawValue, locationUid: $0.locationUid, total: $0.total, assigned: $0.assigned,
                       assignedHere: $0.assignedHere, available: $0.available, usable: $0.usable,
                       unlimited: $0.unlimited)
        }
    }
}

public struct AppListView: Encodable, Sendable {
    public let apps: [AppView]
    public init(_ pools: [MergedPool]) { apps = pools.map(AppView.init) }
}
