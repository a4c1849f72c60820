import AppleAppsAndBooks
import Foundation

// Apple's calls. Each is one transaction: fault, token, settle due events, answer.

extension AppleSimulator {
    public func serviceConfig() async throws -> ServiceConfig {
        try transaction { try $0.serviceConfig() }
    }

    public func clientConfig(token: String) async throws -> ClientConfig {
        try transaction { try $0.clientConfig(token: token, now: Date()) }
    }

    public func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        try transaction { try $0.updateClientConfig(token: token, request, now: Date()) }
    }

    public func assets(token: String, query: AssetsQuery) async throws -> AssetsPage {
        try transaction { try $0.assets(token: token, query: query, now: Date()) }
    }

    public func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        try transaction { try $0.assignments(token: token, query: query, now: Date()) }
    }

    public func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try transaction { try $0.associate(token: token, request, type: .associate, now: Date()) }
    }

    public func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try transaction { try $0.associate(token: token, request, type: .disassociate, now: Date()) }
    }

    public func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse {
        try transaction { try $0.revoke(token: token, request, now: Date()) }
    }

    public func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try transaction { try $0.eventStatus(token: token, eventId: eventId, now: Date()) }
    }
}
