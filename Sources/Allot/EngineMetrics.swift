import AllotCore
import AllotStore
import AppleAppsAndBooks
import Metrics

/// What the engine counts, through swift-metrics (issue 12, point 5). `allot serve` bootstraps
/// the metrics system with a Prometheus registry; a test hands the engine a factory of its own,
/// so its numbers are not shared with the other tests of the process. The counters are made on
/// use: a factory keeps one per name and labels, and nothing here is on the per-item path.
public struct EngineMetrics: Sendable {
    /// Nil: whatever the process bootstrapped, read at each use (so an engine opened before
    /// the bootstrap still counts into it).
    let factory: (any MetricsFactory)?

    public init(factory: (any MetricsFactory)? = nil) { self.factory = factory }

    var current: any MetricsFactory { factory ?? MetricsSystem.factory }

    /// The metric names, published in docs/operations.md (the list is a contract for dashboards).
    public enum Name {
        public static let appleCalls = "allot_apple_calls_total"
        public static let appleCallDuration = "allot_apple_call_duration_seconds"
        public static let batches = "allot_batches_total"
        public static let batchItems = "allot_batch_items_total"
        public static let webhookPosts = "allot_webhook_posts_total"
    }

    /// One call to Apple: which, how it ended (`ok`, `apple_error` with Apple's error number,
    /// `unreachable`: no answer), and how long it took.
    func appleCall(_ call: String, error: (any Error)?, duration: Duration) {
        let result: String, number: String
        switch error {
        case nil: (result, number) = ("ok", "none")
        case let apple as AppleServiceError: (result, number) = ("apple_error", String(apple.errorNumber))
        default: (result, number) = ("unreachable", "none")
        }
        Counter(label: Name.appleCalls, dimensions: [("call", call), ("result", result), ("error_number", number)], factory: current).increment()
        Timer(label: Name.appleCallDuration, dimensions: [("call", call)], factory: current).recordNanoseconds(duration.nanoseconds)
    }

    /// One post to a webhook, by what it led to: `delivered`, `retrying` or `gave_up`.
    func webhookPost(_ step: WebhookRetryPolicy.Step) {
        let result = switch step {
        case .advance: "delivered"
        case .retry: "retrying"
        case .giveUp: "gave_up"
        }
        Counter(label: Name.webhookPosts, dimensions: [("result", result)], factory: current).increment()
    }

    /// A batch and its items by result. `result` of the batch: `committed`, `dry_run`, or
    /// `rejected` (all-or-nothing with a failed item: nothing committed).
    func batch(direction: BatchDirection, mode: BatchMode, committed: Bool, counts: [String: Int]) {
        let result = mode == .dryRun ? "dry_run" : committed ? "committed" : "rejected"
        Counter(label: Name.batches, dimensions: [("direction", direction.rawValue), ("result", result)], factory: current).increment()
        for (item, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
            Counter(label: Name.batchItems, dimensions: [("direction", direction.rawValue), ("result", item)], factory: current)
                .increment(by: count)
        }
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (a call never lasts 292 years).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Apple's service, counted and timed per call: wraps whatever the engine was given, so every
/// path that calls Apple (add, sync, the lanes) is measured in this one place.
struct MeasuredAppleService: AppsAndBooksService {
    let service: any AppsAndBooksService
    let metrics: EngineMetrics

    fileprivate func measured<T: Sendable>(_ call: String, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            metrics.appleCall(call, error: nil, duration: ContinuousClock.now - start)
            return value
        } catch {
            metrics.appleCall(call, error: error, duration: ContinuousClock.now - start)
            throw error
        }
    }

    func serviceConfig() async throws -> ServiceConfig { try await measured("service_config") { try await service.serviceConfig() } }
    func clientConfig(token: String) async throws -> ClientConfig {
        try await measured("client_config") { try await service.clientConfig(token: token) }
    }
    func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        try await measured("update_client_config") { try await service.updateClientConfig(token: token, request) }
    }
    func assets(token: String, query: AssetsQuery) async throws -> AssetsPage {
        try await measured("assets") { try await service.assets(token: token, query: query) }
    }
    func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        try await measured("assignments") { try await service.assignments(token: token, query: query) }
    }
    func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await measured("associate") { try await service.associate(token: token, request) }
    }
    func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await measured("disassociate") { try await service.disassociate(token: token, request) }
    }
    func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse {
        try await measured("revoke") { try await service.revoke(token: token, request) }
    }
    func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try await measured("event_status") { try await service.eventStatus(token: token, eventId: eventId) }
    }
}

extension Allot {
    /// The ledger's side of GET /metrics.
    public func gauges() throws -> LedgerGauges { try ledger.gauges() }
}

/// Apple's user calls, measured as the others; refused as a bug of ours when the service given
/// to the engine does not answer them.
extension MeasuredAppleService: AppleUsersService {
    private func usersService() throws -> any AppleUsersService {
        guard let users = service as? any AppleUsersService else {
            throw AppleServiceError(errorNumber: 9602, message: "the Apple service given to this engine does not manage users", httpStatus: 400)
        }
        return users
    }

    func createUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await measured("create_users") { try await usersService().createUsers(token: token, request) }
    }
    func updateUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await measured("update_users") { try await usersService().updateUsers(token: token, request) }
    }
    func retireUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await measured("retire_users") { try await usersService().retireUsers(token: token, request) }
    }
    func users(token: String, query: UsersQuery) async throws -> UsersPage {
        try await measured("users") { try await usersService().users(token: token, query: query) }
    }
}

/// Apple's subscription calls, measured as the others; refused as a bug of ours when the
/// service given to the engine does not answer them.
extension MeasuredAppleService: AppleSubscriptionsService {
    private func subscriptionsService() throws -> any AppleSubscriptionsService {
        guard let subscriptions = service as? any AppleSubscriptionsService else {
            throw AppleServiceError(errorNumber: 9602, message: "the Apple service given to this engine does not manage subscriptions", httpStatus: 400)
        }
        return subscriptions
    }

    func enableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await measured("enable_subscriptions") { try await subscriptionsService().enableSubscriptions(token: token) }
    }
    func disableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await measured("disable_subscriptions") { try await subscriptionsService().disableSubscriptions(token: token) }
    }
    func subscriptions(token: String, query: SubscriptionsQuery) async throws -> SubscriptionsPage {
        try await measured("subscriptions") { try await subscriptionsService().subscriptions(token: token, query: query) }
    }
    func subscriptionAssignments(token: String, query: SubscriptionAssignmentsQuery) async throws -> SubscriptionAssignmentsPage {
        try await measured("subscription_assignments") { try await subscriptionsService().subscriptionAssignments(token: token, query: query) }
    }
    func associateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await measured("associate_subscriptions") { try await subscriptionsService().associateSubscriptions(token: token, request) }
    }
    func disassociateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await measured("disassociate_subscriptions") { try await subscriptionsService().disassociateSubscriptions(token: token, request) }
    }
}
