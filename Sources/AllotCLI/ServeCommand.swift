import Allot
import AllotCore
import AllotServer
import AllotStore
import ArgumentParser
import Foundation

/// `allot serve`: the HTTP API and the outbox worker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API and run the outbox worker."
    )
    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed once bound).")
    var port = 8080
    @Option(help: ArgumentHelp("On SIGTERM or SIGINT, wait at most this long for Apple calls and HTTP requests in flight.", valueName: "seconds"))
    var drainSeconds = 10.0
    @Option(help: ArgumentHelp("Sync every token with Apple once per this interval, spread out (45s, 10m, 1h, 1d).", valueName: "duration"))
    var syncInterval = "1h"
    @Option(help: ArgumentHelp("The address Apple can reach this server at; each token's notifications are sent to a path under it.", valueName: "url"))
    var publicUrl: String?
    @Option(help: ArgumentHelp("How long this node holds an Apple operation it claimed: if the node dies, another node sends it again after this (at least \(ServeLimits.leaseSecondsMin), above an Apple call's deadline).", valueName: "seconds"))
    var leaseSeconds = Int(EngineSettings().leaseSeconds)
    @Option(help: ArgumentHelp("Connections open at once; past it new ones wait in the listen backlog.", valueName: "n"))
    var connectionsMax = ServerLimits.openConnectionsMax
    @Option(help: ArgumentHelp("Connections open at once from one client address (an IPv6 /64); past it a new one is closed at once.", valueName: "n"))
    var connectionsPerAddress = ServerLimits.openConnectionsPerAddressMax
    @Option(help: ArgumentHelp("Connections under --connections-max kept for /healthz and requests with a key, one request each (0: none).", valueName: "n"))
    var connectionsReserved = ServerLimits.reservedConnections
    @Option(help: ArgumentHelp("Connections the kernel queues before they are accepted (capped by net.core.somaxconn).", valueName: "n"))
    var listenBacklog = ServerLimits.listenBacklog
    @Option(help: ArgumentHelp("A reverse proxy's address or block: its connections are exempt from --connections-per-address (bound each client at the proxy) and X-Forwarded-For names the client in the log; repeat for more.", valueName: "cidr"))
    var trustedProxy: [String] = []
    @Option(help: ArgumentHelp("With a PostgreSQL ledger: the database connections this node holds, one engine each, so different tenants' requests run at once; a tenant's always go to the same one (default: two per core, at most \(NodeEngines.countMax)). A SQLite ledger has one writer, so one.", valueName: "n"))
    var dbConnections: Int?
    @OptionGroup var webhookTargets: WebhookTargetOptions
    @OptionGroup var log: LogOptions
    @OptionGroup(title: "Global options") var global: GlobalOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard drainSeconds >= 0 && drainSeconds <= ShutdownLimits.drainSecondsMax else {
            throw ValidationError("--drain-seconds must be 0 to \(Int(ShutdownLimits.drainSecondsMax))")
        }
        guard (ServeLimits.leaseSecondsMin...ServeLimits.leaseSecondsMax).contains(leaseSeconds) else {
            throw ValidationError("--lease-seconds must be \(ServeLimits.leaseSecondsMin) to \(ServeLimits.leaseSecondsMax): shorter than an Apple call's deadline, a node could lose its claim mid-call")
        }
        _ = try reconcile()
        _ = try webhookTargets.policy()
        _ = try connections()
        if let dbConnections {
            guard (1...NodeEngines.countMax).contains(dbConnections) else {
                throw ValidationError("--db-connections must be 1 to \(NodeEngines.countMax)")
            }
            guard dbConnections == 1 || LedgerLocation.isPostgresURL(global.databasePath) else {
                throw ValidationError("--db-connections needs a PostgreSQL ledger (--db postgres://…); a SQLite ledger has one writer, so leave it out")
            }
        }
    }

    /// The connection bounds, from `--connections-*`, `--listen-backlog` and `--trusted-proxy`.
    func connections() throws -> ConnectionSettings {
        guard (1...ServeLimits.connectionsMaxMax).contains(connectionsMax) else {
            throw ValidationError("--connections-max must be 1 to \(ServeLimits.connectionsMaxMax)")
        }
        guard (1...connectionsMax).contains(connectionsPerAddress) else {
            throw ValidationError("--connections-per-address must be 1 to --connections-max (\(connectionsMax))")
        }
        guard (0..<connectionsMax).contains(connectionsReserved) else {
            throw ValidationError("--connections-reserved must be 0 to --connections-max minus one (\(connectionsMax - 1))")
        }
        guard (1...ServeLimits.listenBacklogMax).contains(listenBacklog) else {
            throw ValidationError("--listen-backlog must be 1 to \(ServeLimits.listenBacklogMax)")
        }
        var settings = ConnectionSettings()
        settings.openMax = connectionsMax
        settings.perAddressMax = connectionsPerAddress
        settings.reserved = connectionsReserved
        settings.listenBacklog = listenBacklog
        for entry in trustedProxy {
            guard let block = AddressBlock(parsing: entry.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--trusted-proxy: '\(entry)' is not an address or block like 10.0.0.0/8")
            }
            settings.trustedProxies.append(block)
        }
        return settings
    }

    func run() async throws {
        let logger = log.bootstrap()
        var settings = EngineSettings()
        settings.leaseSeconds = Int64(leaseSeconds)
        settings.webhookTargets = try webhookTargets.policy()
        let engine = try await global.openEngine(creatingDatabase: true, settings: settings)
        var engines = [engine]
        if LedgerLocation.isPostgresURL(global.databasePath) {
            for _ in 1..<(dbConnections ?? NodeEngines.countDefault) { engines.append(try await global.openEngine(settings: settings)) }
        }
        let node = await NodeEngines.node(engines)
        let databaseConnections = engines.count > 1 ? ", \(engines.count) database connections" : ""
        let host = host
        let reconcile = try reconcile()
        let keptInStep = "syncing every token every \(reconcile.interval?.description ?? "-")"
            + (reconcile.publicURL.map { "; Apple's notifications to \($0)/\(Allot.notificationPathPrefix)/" } ?? "")
        try await runServer(host: host, port: port, engines: node, shutdown: ShutdownSettings(drainSeconds: drainSeconds),
                            reconcile: reconcile, connections: try connections(), logger: logger) { bound in
            Standard.error("allot: serving the HTTP API on http://\(host):\(bound), \(keptInStep)\(databaseConnections) (SIGTERM or Ctrl-C stops it gracefully)")
        }
    }
}

extension ServeCommand {
    /// The reconcile schedule and notifications, from `--sync-interval` and `--public-url`.
    func reconcile() throws -> ReconcileSettings {
        let interval: SyncInterval
        do { interval = try SyncInterval(parsing: syncInterval) } catch { throw ValidationError("--sync-interval: \(error.description)") }
        do {
            return ReconcileSettings(interval: interval, publicURL: try publicUrl.map(Allot.checkedPublicURL))
        } catch let error as AllotError {
            throw ValidationError("--public-url: \(error.message)")
        }
    }
}

/// Where webhooks may post beyond the strict defaults (`WebhookTarget`): `serve` checks every
/// post with them, `webhooks add` a registration. One group, so both read the same flags.
struct WebhookTargetOptions: ParsableArguments {
    @Flag(help: "Let webhooks post to http:// receivers (development only: events and signatures travel in clear text).")
    var webhookAllowHttp = false
    @Option(help: ArgumentHelp("Let webhooks post to this address block or host name although it is private, loopback or link-local (an on-premises receiver); repeat for more.", valueName: "cidr-or-host"))
    var webhookAllow: [String] = []

    func policy() throws -> WebhookTargetPolicy {
        var policy = WebhookTargetPolicy(allowHTTP: webhookAllowHttp)
        for entry in webhookAllow {
            do { try policy.allow(entry) } catch { throw ValidationError("--webhook-allow: \(error.message)") }
        }
        return policy
    }

    func validate() throws { _ = try policy() }
}

enum ServeLimits {
    /// Above the Apple client's 30 s deadline, so a live node never loses a claim mid-call.
    static let leaseSecondsMin = 35
    static let leaseSecondsMax = 3_600
    /// Open files a server process can be given without tuning; more is a typo.
    static let connectionsMaxMax = 1_000_000
    /// Linux's largest `net.core.somaxconn`.
    static let listenBacklogMax = 65_535
}

enum ShutdownLimits {
    /// A stop that waits longer than this is not graceful: service managers kill after ~90 s.
    static let drainSecondsMax = 60.0
}
