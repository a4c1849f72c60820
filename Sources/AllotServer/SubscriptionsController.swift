import Allot
import AllotViews
import Hummingbird

/// A tenant's subscription seats, merged across its tokens, and each token's opt-in to them
/// (Apple requires a location to enable subscriptions before it holds seats).
struct SubscriptionsController {
    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("subscriptions", use: list)
        group.post("tokens/{token}/subscriptions/enable") { request, context in try await setManagement(true, context) }
        group.post("tokens/{token}/subscriptions/disable") { request, context in try await setManagement(false, context) }
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> SubscriptionListView {
        SubscriptionListView(try await context.engine.subscriptions(tenant: try context.requireTenant()))
    }

    func setManagement(_ enabled: Bool, _ context: AllotRequestContext) async throws -> SubscriptionManagementView {
        SubscriptionManagementView(try await context.engine.setSubscriptionManagement(
            tenant: try context.requireTenant(), token: try context.parameters.require("token"), enabled: enabled))
    }
}
