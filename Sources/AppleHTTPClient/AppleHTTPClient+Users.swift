import AppleAppsAndBooks
import Foundation

// Apple's user and subscription calls (Apple's "Managing users", "Managing subscriptions"),
// made like the device calls: Bearer token, Apple's error body read first, no retry here.

extension AppleHTTPClient {
    // MARK: Users

    public func createUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await call(.POST, "/users/create", token: token, body: request)
    }

    public func updateUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await call(.POST, "/users/update", token: token, body: request)
    }

    public func retireUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await call(.POST, "/users/retire", token: token, body: request)
    }

    /// A page read: counted against `pagesInFlightMax` like `/assets` and `/assignments`.
    public func users(token: String, query: UsersQuery) async throws -> UsersPage {
        let items: [(String, String?)] = [
            ("pageIndex", String(query.pageIndex)), ("clientUserId", query.clientUserId),
            ("sinceVersionId", query.sinceVersionId), ("includeRetired", query.includeRetired.map { $0 ? "true" : "false" }),
        ]
        return try await pageGate.run {
            try await call(.GET, "/users", query: items, token: token)
        }
    }

    // MARK: Subscriptions

    public func enableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await call(.POST, "/subscriptions/enable", token: token)
    }

    public func disableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await call(.POST, "/subscriptions/disable", token: token)
    }

    /// Cursor paging is sequential by Apple's rule: the caller reads a page, then the next with
    /// its `nextCursor`. Counted against `pagesInFlightMax` all the same.
    public func subscriptions(token: String, query: SubscriptionsQuery) async throws -> SubscriptionsPage {
        let items: [(String, String?)] = [
            ("cursor", query.cursor), ("adamId", query.adamId.map(String.init)), ("parentAdamId", query.parentAdamId.map(String.init)),
        ]
        return try await pageGate.run {
            try await call(.GET, "/subscriptions", query: items, token: token)
        }
    }

    public func subscriptionAssignments(token: String, query: SubscriptionAssignmentsQuery) async throws -> SubscriptionAssignmentsPage {
        let items: [(String, String?)] = [
            ("cursor", query.cursor), ("adamId", query.adamId.map(String.init)),
            ("parentAdamId", query.parentAdamId.map(String.init)), ("clientUserId", query.clientUserId),
        ]
        return try await pageGate.run {
            try await call(.GET, "/subscriptions/assignments", query: items, token: token)
        }
    }

    public func associateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await call(.POST, "/subscriptions/associate", token: token, body: request)
    }

    public func disassociateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await call(.POST, "/subscriptions/disassociate", token: token, body: request)
    }
}
