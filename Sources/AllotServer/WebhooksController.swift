import Allot
import AllotCore
import AllotViews
import Hummingbird

/// A tenant's webhooks: register a URL (the answer holds its signing secret, the only time it
/// is shown), list them with how far each has come, remove one.
struct WebhooksController {

    struct CreateRequest: Decodable {
        let url: String
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("webhooks", use: list)
        group.post("webhooks", use: create)
        group.delete("webhooks/{webhook}", use: remove)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> WebhookListView {
        WebhookListView(try await context.engine.webhooks(tenant: try context.requireTenant()))
    }

    @Sendable func create(_ request: Request, context: AllotRequestContext) async throws -> EditedResponse<CreatedWebhookView> {
        let body = try await request.decodeJSON(CreateRequest.self)
        let (webhook, secret) = try await context.engine.addWebhook(tenant: try context.requireTenant(), url: body.url)
        return EditedResponse(status: .created, response: CreatedWebhookView(webhook, secret: secret))
    }

    @Sendable func remove(_ request: Request, context: AllotRequestContext) async throws -> RemovedWebhookView {
        let text = try context.parameters.require("webhook")
        guard let id = Int64(text) else { throw APIError.notFound("there is no webhook '\(text.printableExcerpt)'; webhooks are named by their id") }
        return RemovedWebhookView(try await context.engine.removeWebhook(tenant: try context.requireTenant(), id: id))
    }
}
