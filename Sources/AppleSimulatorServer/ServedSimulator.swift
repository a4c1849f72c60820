import AppleSimulator
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A simulator served in this process (tests, benchmarks): started on an ephemeral loopback port,
/// stopped by `stop()`. What `allot sim serve` runs, minus the signal handling.
public final class ServedSimulator: Sendable {
    /// How long `start` waits for the port to be bound. Binding a loopback port takes
    /// milliseconds; the bound is for a machine so busy that the start waits its turn for a
    /// thread (a test suite of blocking child processes on two cores held it past 10 s): it
    /// fails a start that hangs, not one that waits.
    public static let startSecondsMax = 60

    /// `http://127.0.0.1:N/mdm/v2`: the base URL to give an `AppleHTTPClient`.
    public let baseURL: String
    /// `http://127.0.0.1:N`: the root, for the control paths (`/_sim/...`).
    public let rootURL: String
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(baseURL: String, rootURL: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.rootURL = rootURL
        self.port = port
        self.group = group
        self.task = task
    }

    public static func start(simulator: AppleSimulator,
                             configuration: SimulatorServerConfiguration = SimulatorServerConfiguration()) async throws -> ServedSimulator {
        let (ready, readyContinuation) = AsyncThrowingStream.makeStream(of: String.self)
        let app = makeSimulatorApplication(configuration: configuration, simulator: simulator) { baseURL in
            readyContinuation.yield(baseURL)
        }
        var logger = Logger(label: "allot.sim.serve")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            do {
                try await group.run()
                readyContinuation.finish()
            } catch {
                readyContinuation.finish(throwing: error)
                throw error
            }
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(startSecondsMax))
            readyContinuation.finish(throwing: ServerStartError(message: "the simulator server did not start within \(startSecondsMax) s"))
        }
        defer { timeout.cancel() }
        do {
            var iterator = ready.makeAsyncIterator()
            guard let baseURL = try await iterator.next() else {
                throw ServerStartError(message: "the simulator server stopped before it was ready")
            }
            guard let url = URL(string: baseURL), let port = url.port, let host = url.host else {
                throw ServerStartError(message: "the simulator server reported an unusable address \(baseURL)")
            }
            return ServedSimulator(baseURL: baseURL, rootURL: "http://\(host):\(port)", port: port, group: group, task: task)
        } catch {
            await group.triggerGracefulShutdown()
            _ = await task.result
            throw error
        }
    }

    /// Stops the server gracefully and waits until it has closed its port.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Starts a graceful stop without waiting for it (for a synchronous clean-up).
    public func stopSoon() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
    }

    deinit { task.cancel() }
}

public struct ServerStartError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
