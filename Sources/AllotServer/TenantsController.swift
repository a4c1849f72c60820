import Allot
import AllotCore
import Hummingbird

/// Tenant management with the admin key: list, create (the first API key is in the answer,
/// the only time it is shown), rotate a tenant's key.
struct TenantsController {
    let engine: Allot

    struct TenantJSON: ResponseEncodable, Decodable {
        let slug: String
        let name: String
        let policy: String
        init(_ tenant: Tenant) {
            slug = tenant.slug
            name = tenant.name
            policy = tenant.policy.rawValue
        }
    }

    struct TenantList: ResponseEncodable {
        let tenants: [TenantJSON]
    }

    struct CreateRequest: Decodable {
        let slug: String
        let name: String?
        let policy: String?
    }

    struct CreatedTenant: ResponseEncodable {
        let slug: String
        let name: String
        let policy: String
        /// Shown once: only its hash is stored.
        let apiKey: String
    }

    struct RotatedKey: ResponseEncodable {
        let slug: String
        let apiKey: String
    }

    func addAdminRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.post("{slug}/api-key", use: rotateKey)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> TenantList {
        TenantList(tenants: try await engine.tenants().map(TenantJSON.init))
    }

    @Sendable func create(_ request: Request, context: AllotRequestContext) async throws -> EditedResponse<CreatedTenant> {
        let body = try await request.decodeJSON(CreateRequest.self)
        var policy = AllocationPolicy.mostAvailable
        if let text = body.policy {
            guard let parsed = AllocationPolicy(rawValue: text) else {
                throw APIError.invalidInput("policy must be one of \(AllocationPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            policy = parsed
        }
        let (tenant, key) = try await engine.createTenantWithKey(slug: body.slug, name: body.name, policy: policy)
        return EditedResponse(status: .created, response: CreatedTenant(slug: tenant.slug, name: tenant.name, policy: tenant.policy.rawValue, apiKey: key))
    }

    @Sendable func rotateKey(_ request: Request, context: AllotRequestContext) async throws -> RotatedKey {
        let slug = try context.parameters.require("slug")
        return RotatedKey(slug: slug, apiKey: try await engine.rotateAPIKey(tenant: slug))
    }

    /// The tenant itself, with its own key.
    @Sendable func show(_ request: Request, context: AllotRequestContext) async throws -> TenantJSON {
        TenantJSON(try await engine.tenant(try context.requireTenant()))
    }
}
