import AppleAppsAndBooks
import Foundation
import Synchronization

/// Apple's service (the simulator) seen through a tally of the writes sent to it: every call is
/// passed on unchanged, after a short delay like a network's, so that two workers' calls
/// overlap as they do against Apple.
final class CountingApple: AppsAndBooksService {
    let inner: any AppsAndBooksService
    let delay: Duration
    /// Per "kind serial": how many requests carried it.
    private let sends = Mutex<[String: Int]>([:])
    /// Calls under way now, and the most there were at once.
    private let inFlight = Mutex<(now: Int, peak: Int)>((0, 0))

    init(_ inner: any AppsAndBooksService, delay: Duration = .milliseconds(2)) {
        self.inner = inner
        self.delay = delay
    }

    var sendsPerSerial: [String: Int] { sends.withLock { $0 } }
    var callsInFlightPeak: Int { inFlight.withLock { $0.peak } }

    private func count(_ kind: String, _ serials: [String]?) async throws {
        sends.withLock { tally in for serial in serials ?? [] { tally["\(kind) \(serial)", default: 0] += 1 } }
        try await delayed()
    }

    /// The network's delay, counted as a call in flight.
    private func delayed() async throws {
        inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
        defer { inFlight.withLock { $0.now -= 1 } }
        try await Task.sleep(for: delay)
    }

    func serviceConfig() async throws -> ServiceConfig { try await inner.serviceConfig() }
    func clientConfig(token: String) async throws -> ClientConfig { try await inner.clientConfig(token: token) }
    func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        try await inner.updateClientConfig(token: token, request)
    }
    func assets(token: String, query: AssetsQuery) async throws -> AssetsPage { try await inner.assets(token: token, query: query) }
    func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        try await inner.assignments(token: token, query: query)
    }
    func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await count("associate", request.serialNumbers)
        return try await inner.associate(token: token, request)
    }
    func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await count("disassociate", request.serialNumbers)
        return try await inner.disassociate(token: token, request)
    }
    func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse {
        try await count("revoke", request.serialNumbers)
        return try await inner.revoke(token: token, request)
    }
    func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try await delayed()
        return try await inner.eventStatus(token: token, eventId: eventId)
    }
}
