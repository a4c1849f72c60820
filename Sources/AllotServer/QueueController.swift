import Allot
import AllotCore
import AllotViews
import Hummingbird

/// The queue of unmet demand: the devices waiting for an app (`"queue": true` on an assign
/// batch), listed in the order they are served, and taken out on request.
struct QueueController {

    struct CancelRequest: Decodable {
        let app: String
        let serialNumbers: [String]
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("queue", use: list)
        group.post("queue/cancel", use: cancel)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> QueueView {
        let tenant = try context.requireTenant()
        let asset = try request.uri.queryParameters["app"].map { try BatchesController.asset(String($0)) }
        return QueueView(try await context.engine.queue(tenant: tenant, asset: asset), users: try await context.engine.userQueue(tenant: tenant, asset: asset))
    }

    @Sendable func cancel(_ request: Request, context: AllotRequestContext) async throws -> QueueCancelView {
        let tenant = try context.requireTenant()
        let body = try await request.decodeJSON(CancelRequest.self)
        try BatchesController.checkCount(body.serialNumbers.count)
        return QueueCancelView(try await context.engine.cancelQueued(tenant: tenant, asset: try BatchesController.asset(body.app), serials: body.serialNumbers))
    }
}
