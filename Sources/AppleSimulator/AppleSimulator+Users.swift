import AppleAppsAndBooks
import Foundation

// Apple's user and subscription calls, and the control operations behind them. Each call is
// one transaction on the actor, then the simulated latency off it, like the device calls.

extension AppleSimulator {
    // MARK: AppleUsersService

    public nonisolated func createUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await answer { try $0.manageUsers(token: token, request, type: .createUsers, now: Date()) }
    }

    public nonisolated func updateUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await answer { try $0.manageUsers(token: token, request, type: .updateUsers, now: Date()) }
    }

    public nonisolated func retireUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse {
        try await answer { try $0.manageUsers(token: token, request, type: .retireUsers, now: Date()) }
    }

    public nonisolated func users(token: String, query: UsersQuery) async throws -> UsersPage {
        try await answer { try $0.users(token: token, query: query, now: Date()) }
    }

    // MARK: AppleSubscriptionsService

    public nonisolated func enableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await answer { try $0.setSubscriptionManagement(token: token, enabled: true, now: Date()) }
    }

    public nonisolated func disableSubscriptions(token: String) async throws -> SubscriptionManagementResponse {
        try await answer { try $0.setSubscriptionManagement(token: token, enabled: false, now: Date()) }
    }

    public nonisolated func subscriptions(token: String, query: SubscriptionsQuery) async throws -> SubscriptionsPage {
        try await answer { try $0.subscriptions(token: token, query: query, now: Date()) }
    }

    public nonisolated func subscriptionAssignments(token: String, query: SubscriptionAssignmentsQuery) async throws -> SubscriptionAssignmentsPage {
        try await answer { try $0.subscriptionAssignments(token: token, query: query, now: Date()) }
    }

    public nonisolated func associateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await answer { try $0.manageSubscriptions(token: token, request, type: .associateSubscriptions, now: Date()) }
    }

    public nonisolated func disassociateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse {
        try await answer { try $0.manageSubscriptions(token: token, request, type: .disassociateSubscriptions, now: Date()) }
    }

    // MARK: Control

    /// A person accepts the invitation of a registered user, signing in with `appleAccount`
    /// (absent: one made from the id): the user becomes Associated and USER_ASSOCIATED is
    /// sent. Refused for a user that is not Registered.
    @discardableResult
    public func acceptInvitation(location uId: String, clientUserId: String, appleAccount: String? = nil) throws -> ResponseUser {
        try transaction { try $0.acceptInvitation(location: uId, clientUserId: clientUserId, appleAccount: appleAccount) }
    }

    /// A content manager buys or refunds seats of a subscription (created if new; the location
    /// must have enabled subscription management). `periodEnd` is `YYYY-MM-DD` (absent: kept,
    /// or a month from now). Answers the subscription with its counts.
    @discardableResult
    public func setSubscriptionSeats(location uId: String, adamId: Int64, parentAdamId: Int64? = nil, renewing: Int, expiring: Int = 0,
                                     periodEnd: String? = nil, status: AppleSubscriptionStatus? = nil) throws -> ResponseSubscription {
        try transaction {
            try $0.setSubscriptionSeats(location: uId, adamId: adamId, parentAdamId: parentAdamId, renewing: renewing, expiring: expiring,
                                        periodEnd: periodEnd, status: status, now: Date())
        }
    }

    /// The billing period ends now, for one subscription or every one of the location.
    @discardableResult
    public func endSubscriptionPeriod(location uId: String, adamId: Int64? = nil) throws -> [ResponseSubscription] {
        try transaction { try $0.endSubscriptionPeriod(location: uId, adamId: adamId) }
    }
}
