import Allot
import AllotStore
import AllotCore
import Foundation
import HTTPDeadlines
import Hummingbird
import HummingbirdCore
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// Everything the HTTP API is built from. `main` (`allot serve`) and the tests both build the
/// application from one of these (STYLE: one function builds the application).
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; `onServerRunning` is told which.
    public var port: Int
    /// SHA-256 hex of the admin key; nil refuses tenant management with 403.
    public var adminKeyHash: String?
    public var logger: Logger
    /// A connection with no request in progress (idle between requests, or with its request's
    /// headers not finished) is closed after this long. Tests shorten it.
    public var idleConnectionSeconds: Double = ServerLimits.idleConnectionSeconds
    /// The bounds on connections: in all, per client address, the reserve, the listen backlog.
    public var connections = ConnectionSettings()
    /// Connections open at once; past it the server stops accepting until one closes.
    public var openConnectionsMax: Int {
        get { connections.openMax }
        set { connections.openMax = newValue }
    }
    /// The deadlines of a request's body, handler and answer (headers: `idleConnectionSeconds`).
    /// Tests shorten them.
    public var deadlines = RequestDeadlines()
    /// Where GET /metrics reads the counters from; `allot serve` uses the process's registry.
    public var metricsRegistry = PrometheusCollectorRegistry()

    public init(host: String = "127.0.0.1", port: Int = 8080, adminKey: String? = nil,
                logger: Logger = Logger(label: "allot.server")) {
        self.host = host
        self.port = port
        self.adminKeyHash = adminKey.map(APIKey.hash)
        self.logger = logger
    }
}

/// The routes of the API. Public so the OpenAPI agreement test can list them.
public func buildRouter(configuration: ServerConfiguration, engine: Allot) -> Router<AllotRequestContext> {
    buildRouter(configuration: configuration, engines: NodeEngines(engine))
}

/// The routes of the API over a node's engines: a tenant's routes go to the engine that serves
/// it, the rest to the primary.
public func buildRouter(configuration: ServerConfiguration, engines: NodeEngines) -> Router<AllotRequestContext> {
    let engine = engines.primary
    let router = Router(context: AllotRequestContext.self)
    let routeTable = RouteTable()
    // Outermost: one log line per request, with the status the client gets.
    router.add(middleware: RequestLogMiddleware(trustedProxies: configuration.connections.trustedProxies))
    // Every error below, an unknown route included, becomes a JSON answer.
    router.add(middleware: JSONErrorMiddleware(routes: routeTable))

    router.get("healthz") { _, _ in HealthAnswer(status: "ok") }
    router.get("openapi.yaml") { _, _ in OpenAPIDocument.response() }
    router.get("metrics", use: MetricsRoute(engine: engine, registry: configuration.metricsRegistry).scrape)

    let tenants = TenantsController(engine: engine)
    tenants.addAdminRoutes(to: router.group("v1/tenants").add(middleware: AdminMiddleware(adminKeyHash: configuration.adminKeyHash)))

    let tenant = router.group("v1/tenants/{slug}")
        .add(middleware: TenantMiddleware(engines: engines, adminKeyHash: configuration.adminKeyHash))
    tenant.get(use: tenants.show)
    TokensController().addRoutes(to: tenant)
    DevicesController().addRoutes(to: tenant)
    UsersController().addRoutes(to: tenant)
    SubscriptionsController().addRoutes(to: tenant)
    BatchesController().addRoutes(to: tenant)
    NotificationsController(engine: engine).addRoutes(to: router)
    WebhooksController().addRoutes(to: tenant)
    QueueController().addRoutes(to: tenant)
    routeTable.record(router.routes.map { (method: $0.method, path: $0.path.description) })
    return router
}

struct HealthAnswer: ResponseEncodable {
    let status: String
}

/// The application: the router on `configuration.host:port`. `onServerRunning` gets the port
/// actually bound (useful with port 0).
public func buildApplication(configuration: ServerConfiguration, engine: Allot,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    buildApplication(configuration: configuration, engines: NodeEngines(engine), onServerRunning: onServerRunning)
}

public func buildApplication(configuration: ServerConfiguration, engines: NodeEngines,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let registry = ConnectionRegistry(settings: configuration.connections, metrics: configuration.metricsRegistry)
    return Application(
        router: buildRouter(configuration: configuration, engines: engines),
        server: .http1(configuration: .init(
            // Admission first: a refused connection or request goes no further.
            additionalChannelHandlers: [ConnectionAdmissionHandler(registry: registry, logger: configuration.logger),
                                        RequestDeadlineHandler(deadlines: configuration.deadlines, logger: configuration.logger)],
            idleTimeout: .nanoseconds(Int64(configuration.idleConnectionSeconds * 1_000_000_000)))),
        configuration: applicationConfiguration(configuration),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: configuration.logger
    )
}

/// Hummingbird's settings of the listening socket: address, global cap, listen backlog.
/// Public so a test can check that the settings reach it.
public func applicationConfiguration(_ configuration: ServerConfiguration) -> ApplicationConfiguration {
    ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "allot",
                             backlog: configuration.connections.listenBacklog,
                             availableConnectionsDelegate: MaximumAvailableConnections(configuration.connections.openMax, logger: configuration.logger))
}

/// The port the server bound, once it has (0 before): the webhook sender refuses to post to it.
final class BoundPort: Sendable {
    let value = Atomic<Int>(0)
    @Sendable func port() -> Int? {
        let port = value.load(ordering: .acquiring)
        return port == 0 ? nil : port
    }
}

/// How `allot serve` stops.
public struct ShutdownSettings: Sendable {
    /// After SIGTERM or SIGINT: the longest wait for the Apple calls in flight (and, with the
    /// HTTP requests in flight, for the server to drain) before the process exits anyway. What
    /// was not delivered stays in the outbox for the next start.
    public var drainSeconds: Double = 10

    public init(drainSeconds: Double = 10) {
        precondition(drainSeconds >= 0, "a drain bound is not negative")
        self.drainSeconds = drainSeconds
    }
}

/// `allot serve`: the API and the outbox worker in one process until SIGTERM or SIGINT. On
/// either signal, in this order: the engine stops starting Apple calls and the drain's one
/// deadline starts (`shutdown.drainSeconds` from the signal); the server stops accepting
/// connections and lets in-flight requests answer; the worker waits for the Apple calls in
/// flight; both until that deadline, after which what still runs is cancelled and its leases
/// released. So the process exits in bounded time whether Apple answers, hangs or is gone.
/// Everything not delivered is in the outbox already and goes out on the next start.
///
/// The admin key is `adminKey`, else `$ALLOT_ADMIN_KEY`, else a key created on first start
/// whose SHA-256 is kept beside the database (`DB.admin-key-sha256`) and which is printed
/// once on standard error.
///
/// The node's engines (`NodeEngines`): the primary delivers, syncs, posts webhooks and hears
/// Apple; each tenant's requests go to its engine.
public func runServer(host: String = "127.0.0.1", port: Int = 8080, engines: NodeEngines, adminKey: String? = nil,
                      shutdown: ShutdownSettings = ShutdownSettings(),
                      reconcile: ReconcileSettings = ReconcileSettings(),
                      connections: ConnectionSettings = ConnectionSettings(),
                      logger: Logger = Logger(label: "allot.server"),
                      onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    let engine = engines.primary
    var configuration = ServerConfiguration(host: host, port: port, adminKey: adminKey, logger: logger)
    configuration.connections = connections
    configuration.metricsRegistry = ServerMetrics.processRegistry
    if adminKey == nil {
        configuration.adminKeyHash = try AdminKey.resolve(databasePath: engine.databaseFile)
    }
    if let publicURL = reconcile.publicURL { try await engine.receiveNotifications(publicURL: publicURL) }
    // Set once the server listens: the schedule's first receivers need it (Apple's test notification).
    let listening = OutboxWorker.Finished()
    let boundPort = BoundPort()
    let app = buildApplication(configuration: configuration, engines: engines, onServerRunning: { port in
        boundPort.value.store(port, ordering: .releasing)
        listening.flag.store(true, ordering: .releasing)
        await onReady(port)
    })
    let deadline = ShutdownDeadline(drainSeconds: shutdown.drainSeconds)
    let worker = OutboxWorker(engine: engine, logger: logger, deadline: deadline)
    let scheduler = ReconcileScheduler(engine: engine, settings: reconcile, logger: logger) {
        // Bounded by the group: a server that never listens fails the group, which cancels this.
        while !listening.flag.load(ordering: .acquiring) && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
    }
    // Graceful shutdown runs in reverse order: Apple calls stop starting and the drain's one
    // deadline starts; the server stops accepting and lets its requests in flight answer; the
    // worker waits for its Apple calls in flight until the same deadline, then gives back the
    // leases of those that did not finish. The webhook sender stops last: it is cancelled
    // mid-post, and its leases are given back.
    let webhooks = WebhookSender(engine: engine, logger: logger, listeningPort: boundPort.port)
    var group = ServiceGroupConfiguration(services: [webhooks, scheduler, worker, app,
                                                     StopDeliveryOnShutdown(engines: engines, deadline: deadline)],
                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    // Past this the group cancels the services: a request still running at the deadline is
    // cancelled (its client gets no answer) rather than hold the process. The second is room
    // for the worker to give back its leases once its wait ended.
    group.maximumGracefulShutdownDuration = .seconds(shutdown.drainSeconds + ShutdownDeadline.leaseReleaseSeconds)
    try await ServiceGroup(configuration: group).run()
}

/// The first to hear of a shutdown: starts the drain's deadline and tells the engine to start no
/// more Apple calls, so in-flight HTTP requests that call Apple (a batch's push, a sync) answer
/// once their call in flight has.
struct StopDeliveryOnShutdown: Service {
    let engines: NodeEngines
    let deadline: ShutdownDeadline

    func run() async throws {
        try? await gracefulShutdown()
        deadline.start()
        // Every engine: a tenant's HTTP push or sync runs on its own.
        for engine in engines.all { await engine.stopDelivering() }
    }
}


/// The outbox worker as a service: the engine's delivery lanes (`Allot.deliverUntilStopped`),
/// one per token with due work, woken by this process's commits and looking at the outbox every
/// `idleSeconds` for other nodes' work. On shutdown it lets the Apple calls in flight finish
/// (no new one starts once the engine is told to stop) until the drain's deadline: a call cut short is a call Apple may
/// have acted on without this node knowing, so it would be sent again after the restart. Past
/// the deadline it cancels them and gives back their leases: an Apple call that hangs does not
/// hold the process past its bound.
public struct OutboxWorker: Service {
    let engine: Allot
    let logger: Logger
    let idleSeconds: Double
    let deadline: ShutdownDeadline
    /// The pause between checks while draining.
    static let drainCheckSeconds = 0.05

    public init(engine: Allot, logger: Logger, idleSeconds: Double = 1, drainSeconds: Double = 10) {
        self.init(engine: engine, logger: logger, idleSeconds: idleSeconds, deadline: ShutdownDeadline(drainSeconds: drainSeconds))
    }

    init(engine: Allot, logger: Logger, idleSeconds: Double = 1, deadline: ShutdownDeadline) {
        self.engine = engine
        self.logger = logger
        self.idleSeconds = idleSeconds
        self.deadline = deadline
    }

    public func run() async throws {
        guard engine.hasAppleService else {
            logger.info("no Apple service configured: the outbox worker is idle")
            try? await gracefulShutdown()
            return
        }
        let finished = Finished()
        // Unstructured, so that shutdown can stop waiting for it.
        let pushes = Task {
            await deliverUntilStopped()
            finished.flag.store(true, ordering: .releasing)
        }
        try? await gracefulShutdown()
        await engine.stopDelivering()
        // Not cancelled yet: the calls in flight are waited for, their answers recorded.
        let deadline = self.deadline.start()
        while !finished.flag.load(ordering: .acquiring) && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(Self.drainCheckSeconds))
        }
        if !finished.flag.load(ordering: .acquiring) {
            pushes.cancel()
            logger.warning("stopping with Apple calls still in flight; their operations stay in the outbox for the next start")
        }
        // Also after a push that ended early on an error: a claim left behind would hold its
        // operation from the other nodes until its lease expired.
        do { try await engine.releaseLeases() } catch {
            logger.warning("could not release the outbox leases; they expire on their own", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// Delivers through the engine's lanes until it is told to stop.
    private func deliverUntilStopped() async {
        let logger = self.logger
        await engine.deliverUntilStopped(pollSeconds: idleSeconds) { error in
            if let error = error as? AllotError {
                // Messages of the engine never carry a token's secret.
                logger.warning("outbox delivery failed", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
            } else {
                logger.warning("outbox delivery failed", metadata: ["error": "\(String(describing: type(of: error)))"])
            }
        }
    }

    /// Set once the pushes have ended.
    final class Finished: Sendable {
        let flag = Atomic<Bool>(false)
    }
}

/// The admin key of a server without `ALLOT_ADMIN_KEY`.
public enum AdminKey {
    public static let environmentVariable = "ALLOT_ADMIN_KEY"

    /// The file beside the database that holds the admin key's hash.
    public static func hashFile(databasePath: String) -> String { databasePath + ".admin-key-sha256" }

    /// The hash of the admin key: from the environment, from the hash file, or of a new key
    /// (written to the hash file, the key printed once on standard error).
    public static func resolve(databasePath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let key = environment[environmentVariable], !key.isEmpty { return APIKey.hash(key) }
        guard !LedgerLocation.isPostgresURL(databasePath) else {
            throw AllotError.invalidInput("a PostgreSQL ledger keeps no admin key file beside it: set \(environmentVariable) to the admin key, the same on every node")
        }
        let path = hashFile(databasePath: databasePath)
        if let stored = try? String(contentsOfFile: path, encoding: .utf8) {
            let hash = stored.trimmingCharacters(in: .whitespacesAndNewlines)
            if hash.count == 64 { return hash }
        }
        let key = APIKey.generate()
        let hash = APIKey.hash(key)
        guard FileManager.default.createFile(atPath: path, contents: Data((hash + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AllotError.invalidInput("cannot write the admin key's hash to \(path); set \(environmentVariable) instead")
        }
        FileHandle.standardError.write(Data("""
            allot: created the admin key; it is shown only now (its hash is in \(path)):
              \(key)
            Delete that file and restart to make a new one, or set \(environmentVariable).\n
            """.utf8))
        return hash
    }
}
