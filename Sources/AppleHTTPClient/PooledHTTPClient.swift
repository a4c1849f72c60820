import AsyncHTTPClient
import Synchronization

/// HTTP clients sized for a number of Apple calls in flight at once. Every token's calls go to
/// one host (Apple's), and AsyncHTTPClient's shared client keeps 8 connections a host: with it a
/// whole fleet's lanes had 8 calls in flight between them, whatever `appleCallsInFlightMax`
/// allowed. One client per size and process, made on first use and never shut down (as
/// `HTTPClient.shared` is not): the connections live as long as the process that delivers.
public enum PooledHTTPClient {
    private static let clients = Mutex<[Int: HTTPClient]>([:])

    /// The process's client for `callsInFlightMax` calls at once to one host.
    public static func forCalls(inFlightMax callsInFlightMax: Int) -> HTTPClient {
        precondition(callsInFlightMax > 0, "a client carries at least one call at a time")
        return clients.withLock { clients in
            if let client = clients[callsInFlightMax] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = callsInFlightMax
            // A refused connection fails the call at once. By default AsyncHTTPClient tries to
            // connect again until the call's deadline (30 s), so an unreachable Apple held a
            // sync silent for 30 s a call before it said anything; the outbox has its own
            // retries with backoff, and a sync says "Apple could not be reached" at once.
            configuration.connectionPool.retryConnectionEstablishment = false
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[callsInFlightMax] = client
            return client
        }
    }
}
