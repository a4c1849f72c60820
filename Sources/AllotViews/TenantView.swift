import AllotStore

/// A tenant as published (`tenant list`, `GET /v1/tenants`, `GET /v1/tenants/{slug}`).
public struct TenantView: Encodable, Sendable {
    public let slug: String
    public let name: String
    public let policy: String

    public init(_ tenant: Tenant) {
        slug = tenant.slug
        name = tenant.name
        policy = tenant.policy.rawValue
    }
}

public struct TenantListView: Encodable, Sendable {
    public let tenants: [TenantView]
    public init(_ tenants: [Tenant]) { self.tenants = tenants.map(TenantView.init) }
}

/// A new tenant with its first API key: the only time the key is shown.
public struct CreatedTenantView: Encodable, Sendable {
    public let slug: String
    public let name: String
    public let policy: String
    public let apiKey: String

    public init(_ tenant: Tenant, apiKey: String) {
        let view = TenantView(tenant)
        slug = view.slug
        name = view.name
        policy = view.policy
        self.apiKey = apiKey
    }
}

/// A rotated API key: the only time it is shown.
public struct RotatedKeyView: Encodable, Sendable {
    public let slug: String
    public let apiKey: String
    public init(slug: String, apiKey: String) {
        self.slug = slug
        self.apiKey = apiKey
    }
}
