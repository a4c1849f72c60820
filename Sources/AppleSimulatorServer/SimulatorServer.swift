import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Where and how the simulator is served.
public struct SimulatorServerConfiguration: Sendable {
    /// Loopback by default: the simulator has no authentication of its own for its control paths.
    public var host: String
    /// 0: an ephemeral port, reported through `onReady`.
    public var port: Int
    /// Apple's path prefix, so a base URL looks like Apple's: `http://127.0.0.1:N/mdm/v2`.
    public var applePathPrefix: String
    /// The control operations live under a prefix Apple does not use.
    public var controlPathPrefix: String
    /// A bound on a request body: Apple's biggest request (25 assets × 1000 serials) is far under.
    public var requestBytesMax: Int
    /// A connection with no request in progress (idle, or its headers unfinished) is closed after
    /// this many seconds, and at most `openConnectionsMax` are open at once, as Apple's front
    /// ends do: a client that leaks connections fails here as it would there.
    public var idleConnectionSeconds: Double = 60
    public var openConnectionsMax = 4_096

    public init(host: String = "127.0.0.1", port: Int = 0, applePathPrefix: String = "/mdm/v2",
                controlPathPrefix: String = "/_sim", requestBytesMax: Int = 4 * 1024 * 1024) {
        self.host = host
        self.port = port
        self.applePathPrefix = applePathPrefix
        self.controlPathPrefix = controlPathPrefix
        self.requestBytesMax = requestBytesMax
    }
}

/// Builds the Hummingbird application that serves `simulator` behind Apple's paths and JSON, with
/// the control operations under `configuration.controlPathPrefix`. `onReady` receives the base URL
/// to give the engine (`--apple http://127.0.0.1:N/mdm/v2`) once the port is bound.
/// `allot sim serve` and the tests both call this.
public func makeSimulatorApplication(
    configuration: SimulatorServerConfiguration,
    simulator: AppleSimulator,
    onReady: @escaping @Sendable (_ baseURL: String) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    AppleRoutes(simulator: simulator, bytesMax: configuration.requestBytesMax).add(to: router, prefix: configuration.applePathPrefix)
    ControlRoutes(simulator: simulator, bytesMax: configuration.requestBytesMax).add(to: router, prefix: configuration.controlPathPrefix)
    let host = configuration.host
    let prefix = configuration.applePathPrefix
    var logger = Logger(label: "allot.sim.serve")
    // Hummingbird logs each request's headers only at trace level; stay above it so a token
    // never reaches a log line.
    logger.logLevel = .warning
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleConnectionSeconds * 1_000_000_000)))),
        configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: "allot-sim",
                                                availableConnectionsDelegate: MaximumAvailableConnections(configuration.openConnectionsMax, logger: logger)),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let shownHost = host.contains(":") ? "[\(host)]" : host
            await onReady("http://\(shownHost):\(port)\(prefix)")
        },
        logger: logger
    )
}

/// `allot sim serve --state SIM.json [--host 127.0.0.1] [--port N] [--latency-ms N [--jitter-ms J]]
/// [--no-enforce-request-rate]`: serves the simulator until SIGINT/SIGTERM or until the task is
/// cancelled. A latency, or a request rate switched on or off, given here is written to the
/// state, as `POST /_sim/latency` and `POST /_sim/request-rate` would, so it holds until changed.
public func serveSimulator(statePath: String, host: String = "127.0.0.1", port: Int = 0,
                           latencyMilliseconds: Int? = nil, jitterMilliseconds: Int = 0,
                           enforceRequestRate: Bool? = nil,
                           onReady: @escaping @Sendable (_ baseURL: String) async -> Void) async throws {
    let simulator = try AppleSimulator(statePath: URL(fileURLWithPath: statePath))
    if let latencyMilliseconds {
        try await simulator.setLatency(milliseconds: latencyMilliseconds, jitterMilliseconds: jitterMilliseconds)
    }
    if let enforceRequestRate {
        try await simulator.enforceRequestRate(enforceRequestRate)
    }
    // A receiver that has gone is said, not only dropped (never its token: the URL and why).
    let notices = Logger(label: "allot.sim.serve")
    await simulator.reportDroppedNotifications { dropped in
        notices.warning("a notification was not delivered after \(dropped.tries) tries: \(dropped.lastFailure)",
                        metadata: ["url": "\(dropped.url)"])
    }
    let app = makeSimulatorApplication(configuration: SimulatorServerConfiguration(host: host, port: port),
                                       simulator: simulator, onReady: onReady)
    try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
}
