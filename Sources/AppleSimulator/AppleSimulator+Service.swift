import AppleAppsAndBooks
import Foundation

// Apple's calls. Each is one transaction (fault, token, rate, settle due events, answer) on the
// actor, then the simulated latency off it (`answer`).

extension AppleSimulator {
    public nonisolated func serviceConfig() async throws -> ServiceConfig {
        try await answer { try $0.serviceConfig() }
    }

    public nonisolated func clientConfig(token: String) async throws -> ClientConfig {
        try await answer { try $0.clientConfig(token: token, now: Date()) }
    }

    /// With a `notificationUrl`, Apple first sends a TEST_NOTIFICATION there; if it is not
    /// received, the configuration is refused (9728) and nothing changes.
    public nonisolated func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        do {
            let (uId, target) = try await checkClientConfig(token: token, request)
            if let target { try await sendTestNotification(location: uId, target: target) }
        } catch {
            try await delay()
            throw error
        }
        return try await answer { try $0.writeClientConfig(token: token, request, now: Date()) }
    }

    public nonisolated func assets(token: String, query: AssetsQuery) async throws -> AssetsPage {
        try await answer { try $0.assets(token: token, query: query, now: Date()) }
    }

    public nonisolated func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        try await answer { try $0.assignments(token: token, query: query, now: Date()) }
    }

    public nonisolated func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await answer { try $0.associate(token: token, request, type: .associate, now: Date()) }
    }

    public nonisolated func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await answer { try $0.associate(token: token, request, type: .disassociate, now: Date()) }
    }

    public nonisolated func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse {
        try await answer { try $0.revoke(token: token, request, now: Date()) }
    }

    public nonisolated func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try await answer { try $0.eventStatus(token: token, eventId: eventId, now: Date()) }
    }

    private func checkClientConfig(token: String, _ request: ClientConfigRequest) throws -> (String, NotificationTarget?) {
        try transaction { try $0.checkClientConfig(token: token, request, now: Date()) }
    }
}
