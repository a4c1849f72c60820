import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

extension Allot {
    /// Creates (`registerUsers`) or retires (`retireUsers`) users at a token's location.
    /// Creating sends each person's email and Managed Apple Account (with one, Apple associates
    /// them at once; without, Apple gives an invitation).
    func userRecordsCall(_ apple: any AppsAndBooksService, _ operation: OutboxOperation, bearer: String, tenant: Tenant) async throws -> EventResponse {
        guard let users = apple as? any AppleUsersService else {
            throw AppleServiceError(errorNumber: 9602, message: "the Apple service given to this engine does not manage users", httpStatus: 400)
        }
        switch operation.kind {
        case .registerUsers:
            let records = try ledger.userRecords(tenant: tenant.id, clientUserIds: operation.serials)
            let request = ManageUsersRequest(users: operation.serials.map { id in
                let record = records[id]
                return RequestUser(clientUserId: id, email: record?.email, managedAppleId: record?.managedAppleId)
            })
            return try await users.createUsers(token: bearer, request)
        case .retireUsers:
            return try await users.retireUsers(token: bearer, .retiring(operation.serials))
        case .associate, .disassociate, .revoke:
            preconditionFailure("only a change to user records is sent by userRecordsCall")
        }
    }

    /// After Apple created users at a token's location: reads them back (`GET /users`) for
    /// their status and invitation, kept per location (`users show`). Best effort: what it
    /// cannot read now, a USER_MANAGEMENT notification or the next registration tells.
    func readUsersBack(_ clientUserIds: [String], token: TokenRecord, bearer: String, apple: any AppsAndBooksService) async {
        guard let service = apple as? any AppleUsersService, !clientUserIds.isEmpty else { return }
        let wanted = Set(clientUserIds)
        var found: [ResponseUser] = []
        do {
            if clientUserIds.count <= Self.usersReadOneByOneMax {
                for id in clientUserIds {
                    found += try await callApple(token) { try await service.users(token: bearer, query: UsersQuery(clientUserId: id, includeRetired: true)) }.users
                }
            } else {
                found = try await readPaged(locationUid: token.locationUid) { pageIndex in
                    let page = try await self.callApple(token) { try await service.users(token: bearer, query: UsersQuery(pageIndex: pageIndex, includeRetired: true)) }
                    return (page.users, page.nextPageIndex, page.versionId)
                }.items
            }
            let config = await invitationConfig(apple)
            try noteAppleUsers(found.filter { $0.clientUserId.map(wanted.contains) == true }, token: token.id, config: config)
        } catch {
            return
        }
    }

    /// Up to this many users are read back one query each; more, the location's every page.
    static let usersReadOneByOneMax = 10

    /// Apple's service configuration, for the invitation URL template (nil when unreadable).
    func invitationConfig(_ apple: any AppsAndBooksService) async -> ServiceConfig? {
        try? await apple.serviceConfig()
    }

    /// Keeps what Apple says of users at a location: their status and invitation.
    func noteAppleUsers(_ users: [ResponseUser], token: TokenID, config: ServiceConfig?) throws {
        for user in users {
            guard let id = user.clientUserId, let status = user.userStatus else { continue }
            let mapped: UserLocationStatus = switch status {
            case .registered: .registered
            case .associated: .associated
            case .retired, .deleted: .retired
            }
            let url = user.inviteCode.flatMap { code in config?.invitationURL(inviteCode: code) }
            try ledger.setUserStatus(token: token, clientUserIds: [id], mapped, onlyFrom: nil,
                                     appleUserId: user.userId ?? user.idHash, inviteCode: user.inviteCode, inviteUrl: url)
        }
    }
}
/// Which users a user batch names.
public enum UserSelection: Sendable, Hashable {
    /// Roster ids as typed (each validated as an item).
    case users([String])
    /// Every user under management in this group.
    case group(String)
}

extension Allot {
    // MARK: People

    public func importUsers(tenant slug: String, csv: [UInt8]) throws -> ImportReport {
        try ledger.importUsers(tenant: try tenant(slug).id, csv: csv)
    }

    public func registerUsers(tenant slug: String, _ users: [UserInput]) throws -> ImportReport {
        guard users.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(users.count) users is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        let tenant = try tenant(slug)
        return try ledger.write(tenant: tenant.id) { try ledger.upsertUsers(tenant: tenant.id, users) }
    }

    public func users(tenant slug: String, group: String? = nil) throws -> [UserRecord] {
        try ledger.users(tenant: try tenant(slug).id, group: group)
    }

    public func user(tenant slug: String, userId: String) throws -> (user: UserRecord, locations: [UserLocation], holdings: [UserHolding]) {
        try ledger.user(tenant: try tenant(slug).id, userId: userId)
    }

    /// Retires users: their licences are given back (and serve the queues of unmet demand),
    /// then they are retired at every location they are registered at.
    public func retireUsers(tenant slug: String, userIds: [String]) throws -> UserRetirement {
        let tenant = try tenant(slug)
        let report = try ledger.retireUsers(tenant: tenant.id, userIds: userIds)
        if report.revoked > 0 { try serveQueue(tenant: tenant, asset: nil) }
        return report
    }

    // MARK: User batches

    /// Gives an app's licences to users, from the tenant's merged pools (with `queue`, users
    /// who find none wait in the app's queue).
    public func assignUsers(tenant slug: String, asset: AssetKey, _ selection: UserSelection, mode: BatchMode = .partial,
                            idempotencyKey: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        try userBatch(tenant: slug, direction: .assign, asset: asset, selection, mode: mode, idempotencyKey: idempotencyKey, queue: queue)
    }

    public func revokeUsers(tenant slug: String, asset: AssetKey, _ selection: UserSelection, mode: BatchMode = .partial,
                            idempotencyKey: String? = nil) throws -> UserBatchOutcome {
        try userBatch(tenant: slug, direction: .revoke, asset: asset, selection, mode: mode, idempotencyKey: idempotencyKey, queue: false)
    }

    /// A user batch of explicit items (several apps at once, over HTTP).
    public func userBatch(tenant slug: String, direction: BatchDirection, items: [UserItem], mode: BatchMode = .partial,
                          idempotencyKey: String? = nil, queue: Bool = false) throws -> UserBatchOutcome {
        let tenant = try tenant(slug)
        try refuseUnknownApps(tenant: tenant, Set(items.map(\.asset)), direction: direction)
        let outcome = try workflows.runUserBatch(tenant: tenant, direction: direction, items: items, mode: mode,
                                                 idempotencyKey: idempotencyKey, queue: queue)
        settings.metrics.batch(direction: outcome.direction, mode: outcome.mode, committed: outcome.committed, counts: outcome.counts)
        return outcome
    }

    public func userBatch(tenant slug: String, direction: BatchDirection, asset: AssetKey, _ selection: UserSelection, mode: BatchMode,
                           idempotencyKey: String?, queue: Bool) throws -> UserBatchOutcome {
        let tenantId = try tenant(slug).id
        let ids: [String]
        switch selection {
        case .users(let given): ids = given
        case .group(let group):
            guard try ledger.userGroupExists(tenant: tenantId, group: group) else {
                throw AllotError.notFound("no user of this tenant is in group '\(group.printableExcerpt)'; check the name (`allot users list`)")
            }
            ids = try ledger.activeUserKeys(tenant: tenantId, group: group)
            guard !ids.isEmpty else {
                throw AllotError.invalidInput("every user of group '\(group.printableExcerpt)' is retired; nothing to \(direction.rawValue)")
            }
        }
        return try userBatch(tenant: slug, direction: direction, items: ids.map { UserItem(asset: asset, userId: $0) }, mode: mode,
                             idempotencyKey: idempotencyKey, queue: queue)
    }
}

// MARK: Apple's notifications about users

extension Allot {
    /// The user and subscription notifications this engine works on.
    static let userNotificationTypes: Set<AppleUserNotificationType> = [.userManagement, .userAssociated, .subscriptionCount, .subscriptionManagement]

    /// Checks and queues a USER_MANAGEMENT or USER_ASSOCIATED (the bearer already checked).
    func acceptUserNotification(_ type: AppleUserNotificationType, envelope: AppleNotificationEnvelope, token tokenId: Int64,
                                body: [UInt8]) throws -> NotificationReceipt {
        guard !envelope.notificationId.isEmpty, envelope.notificationId.utf8.count <= 200 else {
            return .invalid("notificationId must be 1 to 200 characters")
        }
        guard let token = try ledger.token(id: TokenID(tokenId)), token.locationUid == envelope.uId else {
            return .invalid("the notification's uId is not this token's location")
        }
        switch type {
        case .userManagement:
            guard let event = try? JSONDecoder().decode(AppleNotification<UserManagementBody>.self, from: Data(body)).notification,
                  !event.eventId.isEmpty, event.eventId.utf8.count <= 200 else {
                return .invalid("a USER_MANAGEMENT needs notification{eventId, type, result}")
            }
            guard ["CREATE", "UPDATE", "RETIRE"].contains(event.type.uppercased()), ["SUCCESS", "FAILURE"].contains(event.result.uppercased()) else {
                return .invalid("the USER_MANAGEMENT's type must be CREATE, UPDATE or RETIRE, and its result SUCCESS or FAILURE")
            }
        case .userAssociated:
            guard (try? JSONDecoder().decode(AppleNotification<UserAssociatedBody>.self, from: Data(body))) != nil else {
                return .invalid("a USER_ASSOCIATED needs notification{associatedUsers}")
            }
        case .subscriptionCount, .subscriptionManagement:
            if let problem = Self.subscriptionNotificationProblem(type, body: body) { return .invalid(problem) }
        }
        let queued = try ledger.queueNotification(id: envelope.notificationId, token: token.id, kind: type.rawValue,
                                                  body: String(decoding: body, as: UTF8.self))
        return queued ? .accepted : .duplicate
    }

    /// USER_MANAGEMENT finishes the operation that waits on its event (a FAILURE makes its poll
    /// due now) and keeps the users' status and invitation; USER_ASSOCIATED marks people who
    /// accepted their invitation.
    func processUserNotification(_ type: AppleUserNotificationType, body: String, token: TokenRecord, tenant: Tenant) async throws {
        switch type {
        case .userManagement:
            guard let event = try? JSONDecoder().decode(AppleNotification<UserManagementBody>.self, from: Data(body.utf8)).notification else { return }
            if let apple, let operation = try ledger.claimSentOperation(token: token.id, eventId: event.eventId, owner: workerId,
                                                                        leaseSeconds: settings.leaseSeconds) {
                if event.result.uppercased() == "SUCCESS", let bearer = try? self.bearer(of: token) {
                    let report = EventReport(phase: .complete, numRequested: operation.serials.count, numCompleted: operation.serials.count, failures: [])
                    _ = try await deliver(operation, token: token, tenant: tenant, apple: apple, bearer: bearer, answer: .event(report))
                } else {
                    try ledger.releaseLease(operation.id, owner: workerId)
                }
            }
            if let users = event.users, event.result.uppercased() == "SUCCESS" {
                let config = if let apple { await invitationConfig(apple) } else { ServiceConfig?.none }
                try noteAppleUsers(users, token: token.id, config: config)
            }
        case .userAssociated:
            guard let event = try? JSONDecoder().decode(AppleNotification<UserAssociatedBody>.self, from: Data(body.utf8)).notification else { return }
            try noteAppleUsers(event.associatedUsers.map { user in
                var associated = user
                if associated.status == nil { associated.status = AppleUserStatus.associated.rawValue }
                return associated
            }, token: token.id, config: nil)
        case .subscriptionCount, .subscriptionManagement:
            try await processSubscriptionNotification(type, body: body, token: token, tenant: tenant)
        }
    }
}

extension ServiceLimits {
    /// The most identifiers one Apple request of this operation may carry: serials, users, users
    /// of Apple's revoke, or users created or retired.
    func requestMax(of operation: OutboxOperation) -> Int {
        switch (operation.subject, operation.kind) {
        case (.devices, _): maxSerialNumbers
        case (.users, .revoke): maxRevokeClientUserIds
        case (.users, .registerUsers), (.users, .retireUsers): maxUsers
        case (.users, _): maxClientUserIds
        }
    }
}

extension Ledger {
    /// Splits the pending operations larger than Apple's live limits allow in one request.
    func splitOversizedOperations(_ limits: ServiceLimits) throws {
        try splitOversizedOperations(serialsMax: limits.maxSerialNumbers, clientUserIdsMax: limits.maxClientUserIds,
                                     revokeClientUserIdsMax: limits.maxRevokeClientUserIds, usersMax: limits.maxUsers)
    }
}
