import AllotCore
import AllotStore
import AppleAppsAndBooks
import DedicatedThread
import Foundation

/// The engine: tenants, tokens, devices, batches, sync, the outbox to Apple and the event log,
/// over one ledger. An actor, so the one connection is used by one caller at a time and
/// batches are serialised (SQLite has one writer anyway). Its ledger calls block (SQLite's C
/// API, PostgreSQL's answers), so it runs on a thread of its own, never on Swift's cooperative
/// pool, which the HTTP server and Apple's calls need.
public actor Allot {
    private let executor = DedicatedThreadExecutor(name: "allot-engine")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let ledger: Ledger
    /// Apple's service (or the simulator); nil for a ledger-only engine (benchmarks, tests).
    public let apple: (any AppsAndBooksService)?
    public let settings: EngineSettings
    let databasePath: String
    /// Loaded on first use, so a ledger-only engine never creates a key file.
    var secretBox: SecretBox?
    /// Where the token key came from (`SecretBox.source`), for the sentence refusing a wrong one.
    var keySource: String?
    /// Set once the key matched the ledger's check value (`checkTokenKey`).
    var keyChecked = false
    /// Apple's live limits, re-read every `settings.serviceConfigRefreshSeconds`.
    var limitsCache: (limits: ServiceLimits, readAt: Int64)?
    /// When each token last called Apple, to stay under `maxRequestPerSecond`.
    var lastAppleCall: [TokenID: ContinuousClock.Instant] = [:]
    /// The lanes' shared bookkeeping: calls in flight, tokens told to wait by Apple.
    var delivery = DeliveryBookkeeping()
    /// The lanes of `deliverUntilStopped` (`allot serve`'s delivery).
    var laneDriver: LaneDriver
    /// Wakes `deliverUntilStopped`: rung by the ledger when operations are written.
    let doorbell = Doorbell()
    /// This engine's name on the leases it writes in the outbox.
    let workerId = UUID().uuidString.lowercased()
    /// Where Apple sends this server's notifications (`allot serve --public-url`); nil: none.
    var notificationsBaseURL: String?

    public init(databasePath: String, apple: (any AppsAndBooksService)? = nil, secrets: SecretBox? = nil,
                settings: EngineSettings = EngineSettings(), createDatabase: Bool = true,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        // A path, or a postgres:// URL (`LedgerLocation`).
        ledger = try Ledger(location: databasePath, create: createDatabase, clock: clock)
        // Measured in one place: every call to Apple is counted and timed (GET /metrics).
        self.apple = apple.map { MeasuredAppleService(service: $0, metrics: settings.metrics) }
        self.settings = settings
        self.databasePath = databasePath
        secretBox = secrets
        laneDriver = LaneDriver(callsInFlightMax: settings.appleCallsInFlightMax)
        ledger.outboxWritten = { [doorbell] in doorbell.ringForWork() }
    }

    var now: Int64 { ledger.now }

    /// The token key, checked against the ledger's before its first use (`verifyTokenKey`).
    func secrets() throws -> SecretBox {
        if let secretBox {
            try verifyTokenKey(secretBox)
            return secretBox
        }
        let loaded = try SecretBox.load(databasePath: databasePath)
        try verifyTokenKey(loaded)
        secretBox = loaded
        return loaded
    }

    func requireApple() throws -> any AppsAndBooksService {
        guard let apple else {
            throw AllotError(.invalidInput, "this needs Apple's service and none is configured; configure it (ALLOT_APPLE: sim:PATH for the simulator, or https://vpp.itunes.apple.com/mdm/v2) and try again",
                             subject: .noAppleService)
        }
        return apple
    }

    // MARK: Tenants

    public func createTenant(slug: String, name: String? = nil, policy: AllocationPolicy = .mostAvailable) throws -> Tenant {
        try ledger.createTenant(slug: slug, name: name, policy: policy)
    }

    public func tenants() throws -> [Tenant] { try ledger.tenants() }

    public func tenant(_ slug: String) throws -> Tenant { try ledger.requireTenant(slug: slug) }

    public func setPolicy(tenant slug: String, _ policy: AllocationPolicy) throws {
        try ledger.setPolicy(tenant: try tenant(slug).id, policy)
    }

    // MARK: Devices

    public func registerDevices(tenant slug: String, _ devices: [DeviceInput]) throws -> ImportReport {
        guard devices.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(devices.count) devices is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        return try ledger.registerDevices(tenant: try tenant(slug).id, devices)
    }

    public func importRoster(tenant slug: String, csv: [UInt8]) throws -> ImportReport {
        try ledger.importRoster(tenant: try tenant(slug).id, csv: csv)
    }

    public func devices(tenant slug: String, group: String? = nil) throws -> [Device] {
        try ledger.devices(tenant: try tenant(slug).id, group: group)
    }

    /// Retires devices; the licences they gave back serve the queues of unmet demand.
    public func retireDevices(tenant slug: String, serials: [String]) throws -> RevocationReport {
        let tenant = try tenant(slug)
        let report = try ledger.retireDevices(tenant: tenant.id, serials: serials)
        if report.revoked > 0 { try serveQueue(tenant: tenant, asset: nil) }
        return report
    }

    // MARK: Batches

    /// With `queue`, items that find no free licence wait in their app's queue (`queued`).
    /// The batch's apps are checked against `licences_low` in the batch's own write.
    public func assign(tenant slug: String, _ items: [BatchItem], mode: BatchMode = .partial,
                       idempotencyKey: String? = nil, queue: Bool = false) throws -> BatchOutcome {
        let tenant = try tenant(slug)
        try refuseUnknownApps(tenant: tenant, Set(items.map(\.asset)), direction: .assign)
        return counted(try workflows.runBatch(tenant: tenant, direction: .assign, items: items, mode: mode,
                                              idempotencyKey: idempotencyKey, queue: queue))
    }

    /// The licences a committed revoke gives back serve the queues of unmet demand, in the
    /// revoke's own write.
    public func revoke(tenant slug: String, _ items: [BatchItem], mode: BatchMode = .partial,
                       idempotencyKey: String? = nil) throws -> BatchOutcome {
        let tenant = try tenant(slug)
        try refuseUnknownApps(tenant: tenant, Set(items.map(\.asset)), direction: .revoke)
        return counted(try workflows.runBatch(tenant: tenant, direction: .revoke, items: items, mode: mode, idempotencyKey: idempotencyKey))
    }

    /// The engine's workflows over its ledger.
    var workflows: Workflows { Workflows(ledger) }

    /// Counts the batch and its items by result (GET /metrics).
    func counted(_ outcome: BatchOutcome) -> BatchOutcome {
        settings.metrics.batch(direction: outcome.direction, mode: outcome.mode, committed: outcome.committed, counts: outcome.counts)
        return outcome
    }

    // MARK: Pools and events

    public func apps(tenant slug: String) throws -> [MergedPool] { try ledger.mergedPools(tenant: try tenant(slug).id) }

    public func events(tenant slug: String, limit: Int = 50, kind: String? = nil) throws -> [Event] {
        try ledger.events(tenant: try tenant(slug).id, limit: limit, kind: kind)
    }

    /// Applies a pool snapshot (what a sync reads from Apple) to one token.
    public func applySnapshot(tenant slug: String, token: TokenID, assets: [SnapshotAsset]) throws -> SnapshotReport {
        try ledger.applySnapshot(tenant: try tenant(slug).id, token: token, assets: assets)
    }

    public func tokens(tenant slug: String) throws -> [TokenRecord] { try ledger.tokens(tenant: try tenant(slug).id) }
}
