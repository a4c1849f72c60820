/// Apple's user endpoints (Apple's "Managing users"), beside `AppsAndBooksService` so that a
/// client of devices alone need not implement them. Implementations: the HTTP client and
/// `AppleSimulator`. Users are per location: the token's location.
///
/// Licences go to users through `AppsAndBooksService`'s associate / disassociate / revoke with
/// `clientUserIds` (never with `serialNumbers` in the same request); a user must be registered
/// at that location and not retired, else the item fails with 9609.
public protocol AppleUsersService: Sendable {
    /// `POST /users/create`: registers users (status `Registered`, with an `inviteCode`; with a
    /// `managedAppleId`, `Associated` at once). Asynchronous: poll the event (type `CREATE`).
    func createUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse

    /// `POST /users/update`: changes `email` / `managedAppleId` of registered users (`UPDATE`).
    func updateUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse

    /// `POST /users/retire`: retires users (`RETIRE`); their licences go back to the pool.
    func retireUsers(token: String, _ request: ManageUsersRequest) async throws -> EventResponse

    /// `GET /users`: one page of the location's users (`pageIndex`, `sinceVersionId`, filters).
    func users(token: String, query: UsersQuery) async throws -> UsersPage
}

/// Apple's subscription endpoints (Apple's "Managing subscriptions"), beside
/// `AppsAndBooksService`. Implementations: the HTTP client and `AppleSimulator`.
public protocol AppleSubscriptionsService: Sendable {
    /// `POST /subscriptions/enable` (no body): the location declares that its MDM manages
    /// subscriptions. Synchronous.
    func enableSubscriptions(token: String) async throws -> SubscriptionManagementResponse

    /// `POST /subscriptions/disable` (no body): refused with 9818 while the location has
    /// subscriptions.
    func disableSubscriptions(token: String) async throws -> SubscriptionManagementResponse

    /// `GET /subscriptions`: one page of subscriptions with their seat counts (cursor paging).
    func subscriptions(token: String, query: SubscriptionsQuery) async throws -> SubscriptionsPage

    /// `GET /subscriptions/assignments`: one page of users' seats (cursor paging).
    func subscriptionAssignments(token: String, query: SubscriptionAssignmentsQuery) async throws -> SubscriptionAssignmentsPage

    /// `POST /subscriptions/associate`: seats to users, `renewing` or not. Asynchronous.
    func associateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse

    /// `POST /subscriptions/disassociate`: now, or `deferred` to the period's end. Asynchronous.
    func disassociateSubscriptions(token: String, _ request: ManageSubscriptionsRequest) async throws -> EventResponse
}

/// Everything Apple's Apps and Books service answers: devices, users and subscriptions. Both
/// the HTTP client and the simulator are one.
public typealias AppleFullService = AppsAndBooksService & AppleUsersService & AppleSubscriptionsService
