import Allot
import AllotCore
import AllotViews
import Hummingbird

/// Assignment and revocation batches. One code path for both directions (STYLE: no
/// near-duplicates that differ by a sign). Item failures are data in the answer (200), not
/// HTTP errors; a malformed request is a 400, an oversized one a 413.
struct BatchesController {

    /// Either `app` with one selector (`serialNumbers`, `group`, `allDevices`), or `items`.
    struct BatchRequest: Decodable {
        struct Item: Decodable {
            let app: String
            let serialNumber: String
        }
        let app: String?
        let serialNumbers: [String]?
        let group: String?
        let allDevices: Bool?
        let items: [Item]?
        /// `partial` (default), `all-or-nothing` or `dry-run`.
        let mode: String?
        /// Assign only: items that find no free licence wait in the app's queue (`queued`).
        let queue: Bool?
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.post("assignments") { request, context in try await run(.assign, request, context) }
        group.post("revocations") { request, context in try await run(.revoke, request, context) }
        group.get("apps", use: apps)
        group.get("events", use: events)
        group.post("push", use: push)
    }

    /// A list of items is one batch; a `group` or `allDevices` selector is a roll-out in chunks
    /// (any size, each chunk committed whole; one transaction for all-or-nothing and dry-run).
    func run(_ direction: BatchDirection, _ request: Request, _ context: AllotRequestContext) async throws -> BatchAnswer {
        let tenant = try context.requireTenant()
        do {
            return try await runBatch(direction, request, context, tenant: tenant)
        } catch let refusal as AllotError where refusal.code == .unknownApp {
            // The engine's sentence names no route; this face adds where the tenant's apps are.
            throw AllotError(refusal.code, "\(refusal.message) (GET /v1/tenants/\(tenant)/apps, POST /v1/tenants/\(tenant)/sync)",
                             subject: refusal.subject)
        }
    }

    private func runBatch(_ direction: BatchDirection, _ request: Request, _ context: AllotRequestContext, tenant: String) async throws -> BatchAnswer {
        let idempotencyKey = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value
        let body = try await request.decodeJSON(BatchRequest.self)
        let mode = try Self.mode(body.mode)
        let queue = body.queue ?? false
        if queue && direction == .revoke { throw APIError.invalidInput("`queue` is for assignments: a revocation never waits for a licence") }
        if let selection = try Self.selection(of: body) {
            let outcome = try await context.engine.rollOut(tenant: tenant, direction: direction, asset: selection.asset, devices: selection.devices,
                                                   mode: mode, idempotencyKey: idempotencyKey, queue: queue)
            return .rollOut(RollOutView(outcome, asset: selection.asset))
        }
        let items = try Self.items(of: body)
        // The batch's one app, when it names one (`items` name theirs).
        let asset = body.items == nil ? try body.app.map(Self.asset) : nil
        switch direction {
        case .assign: return .batch(BatchView(try await context.engine.assign(tenant: tenant, items, mode: mode, idempotencyKey: idempotencyKey, queue: queue), asset: asset))
        case .revoke: return .batch(BatchView(try await context.engine.revoke(tenant: tenant, items, mode: mode, idempotencyKey: idempotencyKey), asset: asset))
        }
    }

    /// The answer: a batch, or a roll-out (the same fields, plus `batchIds`, `chunks`,
    /// `interrupted`, `total`, `decided`, `itemsOmitted`).
    enum BatchAnswer: ResponseEncodable {
        case batch(BatchView)
        case rollOut(RollOutView)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .batch(let view): try view.encode(to: encoder)
            case .rollOut(let view): try view.encode(to: encoder)
            }
        }
    }

    static func mode(_ text: String?) throws -> BatchMode {
        guard let text else { return .partial }
        guard let mode = BatchMode(rawValue: text) else {
            throw APIError.invalidInput("mode must be one of \(BatchMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return mode
    }

    static func asset(_ text: String) throws -> AssetKey {
        guard let asset = AssetKey(parsing: text) else { throw APIError.invalidInput("app '\(text.printableExcerpt)': \(AssetKey.formatHelp)") }
        return asset
    }

    /// The app and devices of a `group` or `allDevices` request; nil for a list of items.
    static func selection(of body: BatchRequest) throws -> (asset: AssetKey, devices: DeviceSelection)? {
        let selectors = [body.serialNumbers != nil, body.group != nil, body.allDevices == true, body.items != nil].count { $0 }
        guard selectors == 1 else {
            throw APIError.invalidInput("name the devices one way: `serialNumbers`, `group`, `allDevices: true`, or `items`")
        }
        guard body.group != nil || body.allDevices == true else { return nil }
        guard let app = body.app else { throw APIError.invalidInput("`app` is required, e.g. \"361309726:STDQ\"") }
        return (try asset(app), body.group.map { .group($0) } ?? .allDevices)
    }

    static func items(of body: BatchRequest) throws -> [BatchItem] {
        if let items = body.items {
            guard body.app == nil else { throw APIError.invalidInput("`items` name their own app; leave `app` out") }
            try checkCount(items.count)
            try refuseEmptySerial(items.map(\.serialNumber), field: { "items[\($0)].serialNumber" })
            return try items.map { BatchItem(asset: try asset($0.app), serial: $0.serialNumber) }
        }
        guard let app = body.app else { throw APIError.invalidInput("`app` is required, e.g. \"361309726:STDQ\"") }
        let key = try asset(app)
        let serials = body.serialNumbers ?? []
        try checkCount(serials.count)
        try refuseEmptySerial(serials, field: { "serialNumbers[\($0)]" })
        return serials.map { BatchItem(asset: key, serial: $0) }
    }

    /// An empty serial is a malformed request (the document's `minLength: 1`), refused whole; a
    /// serial that is not one Apple could know is an item's result, `invalid_serial`.
    static func refuseEmptySerial(_ serials: [String], field: (Int) -> String) throws {
        guard let index = serials.firstIndex(where: \.isEmpty) else { return }
        throw APIError.invalidInput("`\(field(index))` is empty; give the device's serial number or leave the item out")
    }

    static func checkCount(_ count: Int) throws {
        guard count <= BatchLimits.itemsMax else {
            throw APIError.tooLarge("the batch has \(count) items but at most \(BatchLimits.itemsMax) are accepted; split it")
        }
    }

    // MARK: Pools, events, push

    @Sendable func apps(_ request: Request, context: AllotRequestContext) async throws -> AppListView {
        AppListView(try await context.engine.apps(tenant: try context.requireTenant()))
    }

    @Sendable func events(_ request: Request, context: AllotRequestContext) async throws -> EventListView {
        let tenant = try context.requireTenant()
        let limit = try request.queryInt("limit") ?? 50
        guard (1...ServerLimits.eventsLimitMax).contains(limit) else {
            throw APIError.invalidInput("limit must be between 1 and \(ServerLimits.eventsLimitMax)")
        }
        let kind = request.uri.queryParameters["kind"].map(String.init)
        let listing = try await context.engine.eventListing(tenant: tenant, limit: limit, kind: kind)
        return EventListView(listing.events, omitted: listing.omitted)
    }

    @Sendable func push(_ request: Request, context: AllotRequestContext) async throws -> PushView {
        PushView(try await context.engine.push(tenant: try context.requireTenant()))
    }
}
