import AppleAppsAndBooks
import AppleSimulator
import Foundation
import HTTPDeadlines
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Bounds on what one client may ask of the served simulator (STYLE: a limit on everything).
/// It is a test tool on loopback, but a test that leaks connections or a runaway client must
/// fail against it as it would against Apple, not exhaust the machine running the tests. The
/// deadlines are `allot serve`'s rule (`RequestDeadlines`) with these values.
public enum SimulatorServerLimits {
    /// Bytes of one request body: Apple's biggest request (25 assets × 1,000 serials, about
    /// 40 KiB) and the largest control request are far under it.
    public static let requestBodyBytesMax = 4 * 1024 * 1024
    /// Seconds a connection may stay open with no request in progress (idle, or its headers
    /// unfinished), as Apple's front ends close one: a client that leaks connections fails here
    /// as it would there.
    public static let idleConnectionSeconds: Double = 60
    /// Connections open at once; past it the simulator stops accepting until one closes, so
    /// idle or half-sent connections cannot take every open file of the machine.
    public static let openConnectionsMax = 4_096
    /// Seconds to receive one request's whole body: 4 MiB at 64 KiB/s.
    public static let bodySecondsMax: Double = 64
    /// Bytes per second a body must keep up over each window, as `allot serve` asks.
    public static let bodyBytesPerSecondMin = 1_024
    /// Seconds the body rate is measured over: shorter pauses are not punished.
    public static let bodyRateWindowSeconds: Double = 5
    /// Seconds from a request's end to its answer's head: above the longest latency the
    /// simulator can be told to add (`SimulatorDefaults.latencyMillisecondsMax`, 60 s, plus
    /// jitter) and a wait for the state file's write lock.
    public static let handlerSecondsMax: Double = 300
    /// Seconds to hand a whole answer to the socket: a client that stops reading is let go.
    public static let responseWriteSecondsMax: Double = 30
}

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
    /// A bound on a request body (`SimulatorServerLimits.requestBodyBytesMax`).
    public var requestBytesMax: Int
    /// A connection with no request in progress is closed after this many seconds, and at most
    /// `openConnectionsMax` are open at once (`SimulatorServerLimits`). Tests shorten them.
    public var idleConnectionSeconds = SimulatorServerLimits.idleConnectionSeconds
    public var openConnectionsMax = SimulatorServerLimits.openConnectionsMax
    /// The deadlines of a request's body, handler and answer. Tests shorten them.
    public var deadlines = RequestDeadlines(bodySecondsMax: SimulatorServerLimits.bodySecondsMax,
                                            bodyBytesPerSecondMin: SimulatorServerLimits.bodyBytesPerSecondMin,
                                            bodyRateWindowSeconds: SimulatorServerLimits.bodyRateWindowSeconds,
                                            handlerSecondsMax: SimulatorServerLimits.handlerSecondsMax,
                                            responseWriteSecondsMax: SimulatorServerLimits.responseWriteSecondsMax)

    public init(host: String = "127.0.0.1", port: Int = 0, applePathPrefix: String = "/mdm/v2",
                controlPathPrefix: String = "/_sim", requestBytesMax: Int = SimulatorServerLimits.requestBodyBytesMax) {
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
    // Hummingbird logs each request's headers only at trace level; stay above it so a token
    // never reaches a log line. (A deadline that closes a connection logs at notice: not shown.)
    let logger = {
        var logger = Logger(label: "allot.sim.serve")
        logger.logLevel = .warning
        return logger
    }()
    return Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [RequestDeadlineHandler(deadlines: configuration.deadlines, logger: logger)],
            idleTimeout: .nanoseconds(Int64(configuration.idleConnectionSeconds * 1_000_000_000)))),
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
