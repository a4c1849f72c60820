import Allot
import AllotStore
import AllotCore
import AllotViews
import Hummingbird

/// A tenant's people: register a list (JSON), upload a CSV roster, retire, list, show; and their
/// licences, from the same merged pools as the devices' (`user-assignments`, `user-revocations`).
struct UsersController {

    struct RegisterRequest: Decodable {
        struct Item: Decodable {
            let userId: String
            let email: String?
            let managedAppleId: String?
            let group: String?
        }
        let users: [Item]
    }

    struct RetireRequest: Decodable {
        let userIds: [String]
    }

    /// `app` with `userIds` or `userGroup`, or `items` naming their own apps.
    struct BatchRequest: Decodable {
        struct Item: Decodable {
            let app: String
            let userId: String
        }
        let app: String?
        let userIds: [String]?
        let userGroup: String?
        let items: [Item]?
        let mode: String?
        let queue: Bool?
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("users", use: list)
        group.post("users", use: register)
        group.post("users/import", use: importRoster)
        group.post("users/retire", use: retire)
        group.get("users/{userId}", use: show)
        group.post("user-assignments") { request, context in try await run(.assign, request, context) }
        group.post("user-revocations") { request, context in try await run(.revoke, request, context) }
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> UserListView {
        let group = request.uri.queryParameters["group"].map(String.init)
        return UserListView(try await context.engine.users(tenant: try context.requireTenant(), group: group))
    }

    @Sendable func show(_ request: Request, context: AllotRequestContext) async throws -> UserDetailView {
        let found = try await context.engine.user(tenant: try context.requireTenant(), userId: try context.parameters.require("userId"))
        return UserDetailView(found.user, locations: found.locations, holdings: found.holdings)
    }

    /// Registers (or updates) people. A bad user id is rejected with its 1-based position in
    /// `users` as `line`; the others are registered.
    @Sendable func register(_ request: Request, context: AllotRequestContext) async throws -> ImportView {
        let tenant = try context.requireTenant()
        let body = try await request.decodeJSON(RegisterRequest.self)
        guard body.users.count <= BatchLimits.itemsMax else {
            throw APIError.tooLarge("\(body.users.count) users is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        var inputs: [UserInput] = []
        var rejected: [(line: Int, reason: String)] = []
        for (index, item) in body.users.enumerated() {
            guard let key = UserKey.normalized(item.userId) else {
                rejected.append((line: index + 1, reason: UserKey.problem(with: item.userId)))
                continue
            }
            inputs.append(UserInput(userId: key, email: item.email, managedAppleId: item.managedAppleId, group: item.group))
        }
        let report = inputs.isEmpty ? ImportReport() : try await context.engine.registerUsers(tenant: tenant, inputs)
        return ImportView(report, alsoRejected: rejected)
    }

    /// A CSV roster as the body (`user_id` column required; `email`, `managed_apple_id`, `group` optional).
    @Sendable func importRoster(_ request: Request, context: AllotRequestContext) async throws -> ImportView {
        let tenant = try context.requireTenant()
        let bytes = try await request.bodyBytes()
        guard !bytes.isEmpty else { throw APIError.invalidInput("send the CSV roster as the request body, e.g. curl --data-binary @people.csv") }
        return ImportView(try await context.engine.importUsers(tenant: tenant, csv: bytes))
    }

    @Sendable func retire(_ request: Request, context: AllotRequestContext) async throws -> UserRetirementView {
        let tenant = try context.requireTenant()
        let body = try await request.decodeJSON(RetireRequest.self)
        return UserRetirementView(try await context.engine.retireUsers(tenant: tenant, userIds: body.userIds))
    }

    func run(_ direction: BatchDirection, _ request: Request, _ context: AllotRequestContext) async throws -> UserBatchView {
        let tenant = try context.requireTenant()
        let idempotencyKey = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value
        let body = try await request.decodeJSON(BatchRequest.self)
        let mode = try BatchesController.mode(body.mode)
        let queue = body.queue ?? false
        if queue && direction == .revoke { throw APIError.invalidInput("`queue` is for assignments: a revocation never waits for a licence") }
        let selectors = [body.userIds != nil, body.userGroup != nil, body.items != nil].count { $0 }
        guard selectors == 1 else { throw APIError.invalidInput("name the users one way: `userIds`, `userGroup`, or `items`") }
        do {
            if let items = body.items {
                guard body.app == nil else { throw APIError.invalidInput("`items` name their own app; leave `app` out") }
                try BatchesController.checkCount(items.count)
                try Self.refuseEmptyUserId(items.map(\.userId), field: { "items[\($0)].userId" })
                let batch = try items.map { UserItem(asset: try BatchesController.asset($0.app), userId: $0.userId) }
                return UserBatchView(try await context.engine.userBatch(tenant: tenant, direction: direction, items: batch, mode: mode,
                                                                idempotencyKey: idempotencyKey, queue: queue), asset: nil)
            }
            guard let app = body.app else { throw APIError.invalidInput("`app` is required, e.g. \"361309726:STDQ\"") }
            let asset = try BatchesController.asset(app)
            if let ids = body.userIds {
                try BatchesController.checkCount(ids.count)
                try Self.refuseEmptyUserId(ids, field: { "userIds[\($0)]" })
            }
            let selection: UserSelection = body.userGroup.map { .group($0) } ?? .users(body.userIds ?? [])
            return UserBatchView(try await context.engine.userBatch(tenant: tenant, direction: direction, asset: asset, selection, mode: mode,
                                                            idempotencyKey: idempotencyKey, queue: queue), asset: asset)
        } catch let refusal as AllotError where refusal.code == .unknownApp {
            throw AllotError(refusal.code, "\(refusal.message) (GET /v1/tenants/\(tenant)/apps, POST /v1/tenants/\(tenant)/sync)",
                             subject: refusal.subject)
        }
    }

    /// An empty user id is a malformed request (the document's `minLength: 1`), refused whole; one
    /// that cannot name a user otherwise is an item's result, `invalid_user_id`.
    static func refuseEmptyUserId(_ ids: [String], field: (Int) -> String) throws {
        guard let index = ids.firstIndex(where: \.isEmpty) else { return }
        throw APIError.invalidInput("`\(field(index))` is empty; give the user's id or leave the item out")
    }
}
