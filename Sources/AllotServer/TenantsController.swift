import Allot
import AllotCore
import AllotViews
import Hummingbird

/// Tenant management with the admin key: list, create (the first API key is in the answer,
/// the only time it is shown), rotate a tenant's key.
struct TenantsController {
    let engine: Allot

    struct CreateRequest: Decodable {
        let slug: String
        let name: String?
        let policy: String?
    }

    func addAdminRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.post("{slug}/api-key", use: rotateKey)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> TenantListView {
        TenantListView(try await engine.tenants())
    }

    @Sendable func create(_ request: Request, context: AllotRequestContext) async throws -> EditedResponse<CreatedTenantView> {
        let body = try await request.decodeJSON(CreateRequest.self)
        var policy = AllocationPolicy.mostAvailable
        if let text = body.policy {
            guard let parsed = AllocationPolicy(rawValue: text) else {
                throw APIError.invalidInput("policy must be one of \(AllocationPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            policy = parsed
        }
        let (tenant, key) = try await engine.createTenantWithKey(slug: body.slug, name: body.name, policy: policy)
        return EditedResponse(status: .created, response: CreatedTenantView(tenant, apiKey: key))
    }

    @Sendable func rotateKey(_ request: Request, context: AllotRequestContext) async throws -> RotatedKeyView {
        let slug = try context.parameters.require("slug")
        return RotatedKeyView(slug: slug, apiKey: try await engine.rotateAPIKey(tenant: slug))
    }

    /// The tenant itself, with its own key.
    @Sendable func show(_ request: Request, context: AllotRequestContext) async throws -> TenantView {
        TenantView(try await context.engine.tenant(try context.requireTenant()))
    }
}
