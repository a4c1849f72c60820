import AppleAppsAndBooks
import Foundation

// Users (Apple's "Managing users") and their licences. Users are per location: the token's.
// Create / update / retire are asynchronous events like associate; their effect lands when the
// event completes (`SimulatorState+Events.swift`), with a USER_MANAGEMENT notification.

extension SimulatorState {
    // MARK: Calls

    func manageUsers(token: String, _ request: ManageUsersRequest, type: EventType, now: Date) throws -> EventResponse {
        precondition([.createUsers, .updateUsers, .retireUsers].contains(type), "not a user event")
        let location = try beginCall(token: token, now: now)
        let ids = try RequestValidation.manageUsers(request, limits: settings.limits)
        let eventId = try recordEvent(type: type, location: location.uId, assets: [], serialNumbers: ids,
                                      details: EventDetails(users: request.users))
        return EventResponse(eventId: eventId, uId: location.uId, tokenExpirationDate: location.answeredExpirationDate(now: now),
                             mdmInfo: location.mdmInfo)
    }

    /// `GET /users`: in the order users were first created; `sinceVersionId` answers the users
    /// changed after that version (retired ones included, so a reader learns of retirements).
    func users(token: String, query: UsersQuery, now: Date) throws -> UsersPage {
        let location = try beginCall(token: token, now: now)
        let filter = SimulatorStore.UserFilter(
            clientUserId: query.clientUserId,
            sinceVersion: try query.sinceVersionId.map { try Self.version(of: $0, location: location) },
            includeRetired: query.includeRetired != false
        )
        let size = try store.countUsers(location: location.uId, filter)
        let window = try PageWindow(size: size, pageIndex: query.pageIndex, pageSize: settings.pageSize)
        let users = try store.users(location: location.uId, filter, offset: window.offset, limit: settings.pageSize)
        return UsersPage(users: users.map { $0.wire() }, currentPageIndex: window.currentPageIndex, nextPageIndex: window.nextPageIndex,
                         totalPages: window.totalPages, size: size, versionId: location.versionId, uId: location.uId,
                         tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo)
    }

    // MARK: Control

    /// A person opens the invitation link and signs in with `appleAccount`: the registered
    /// user becomes Associated (USER_ASSOCIATED is sent).
    func acceptInvitation(location uId: String, clientUserId: String, appleAccount: String?) throws -> ResponseUser {
        _ = try controlledLocation(uId)
        guard var user = try store.user(location: uId, clientUserId) else {
            throw AppleSimulatorError.invalidArgument("location \(uId) has no user \(clientUserId)")
        }
        guard user.status == .registered else {
            throw AppleSimulatorError.invalidArgument("user \(clientUserId) of location \(uId) is \(user.status.rawValue), not Registered")
        }
        let account = (appleAccount ?? "\(clientUserId)@appleid.example").lowercased()
        guard !account.isEmpty else { throw AppleSimulatorError.invalidArgument("an empty Apple Account") }
        let version = nextSequence()
        user.status = .associated
        user.appleAccount = account
        user.idHash = Self.idHash(account)
        user.version = version
        try store.save(user, location: uId)
        try store.setVersion(location: uId, version)
        try queueUserAssociated(location: uId, users: [user.wire()])
        return user.wire()
    }

    /// Apple's `idHash` stands for the Apple Account without naming it: the same account gives
    /// the same hash at every location. Two FNV-1a hashes, Base64.
    static func idHash(_ account: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in account.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100000001b3
            }
            return hash
        }
        var bytes: [UInt8] = []
        for value in [fnv(0xcbf29ce484222325), fnv(0x84222325cbf29ce4)] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        return Data(bytes).base64EncodedString()
    }

    static func inviteCode() -> String {
        UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }

    // MARK: Applying users' events

    /// Create, update or retire, user by user. A user the event cannot act on fails with 9609
    /// (update or retire of a user not registered here); the others complete.
    func manageUsers(_ event: SimulatedEvent, version: Int) throws -> EventEffect {
        let requests = event.details?.users ?? []
        let uId = event.locationUid
        var completed = 0
        var unknown: [String] = []
        var answered: [ResponseUser] = []
        for request in requests {
            let existing = try store.user(location: uId, request.clientUserId)
            switch event.type {
            case .createUsers:
                // Creating an active user again changes nothing and counts as done; a retired
                // one is registered anew, with a fresh invitation.
                if let existing, existing.isActive {
                    answered.append(existing.wire())
                    completed += 1
                    continue
                }
                var user = SimulatedUser(clientUserId: request.clientUserId, email: request.email, managedAppleId: request.managedAppleId,
                                         status: .registered, inviteCode: Self.inviteCode(), idHash: nil, appleAccount: nil, version: version)
                if let managed = request.managedAppleId, !managed.isEmpty { associate(&user, managedAppleId: managed) }
                try store.save(user, location: uId)
                answered.append(user.wire())
                completed += 1
            case .updateUsers:
                guard var user = existing, user.isActive else {
                    unknown.append(request.clientUserId)
                    continue
                }
                if let email = request.email { user.email = email }
                if let managed = request.managedAppleId, !managed.isEmpty { associate(&user, managedAppleId: managed) }
                user.version = version
                try store.save(user, location: uId)
                answered.append(user.wire())
                completed += 1
            case .retireUsers:
                guard var user = existing, user.status != .deleted else {
                    unknown.append(request.clientUserId)
                    continue
                }
                if user.isActive {
                    user.status = .retired
                    user.version = version
                    try store.save(user, location: uId)
                    try releaseEverything(of: user.clientUserId, location: uId)
                }
                answered.append(user.wire())
                completed += 1
            default:
                preconditionFailure("not a user event")
            }
        }
        var failures: [EventFailure] = []
        if !unknown.isEmpty {
            failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, clientUserIds: unknown))
        }
        let outcome = EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
        return EventEffect(outcome: outcome, done: { [] }, notify: { [unowned self] in try self.queueUserManagement($0, users: answered) })
    }

    /// A Managed Apple Account: associated at once, without an invitation.
    private func associate(_ user: inout SimulatedUser, managedAppleId: String) {
        user.managedAppleId = managedAppleId
        user.status = .associated
        user.appleAccount = managedAppleId.lowercased()
        user.idHash = Self.idHash(user.appleAccount ?? "")
    }

    /// Retiring a user gives back its revocable licences and its subscription seats; a licence
    /// of a non-revocable asset stays with the person, as a revoke would leave it.
    private func releaseEverything(of clientUserId: String, location uId: String) throws {
        let assets = try store.assets(location: uId)
        for key in try store.userAssets(location: uId, clientUserId: clientUserId) {
            guard let asset = assets.first(where: { $0.key == key }), asset.revocable else { continue }
            if try store.deleteUserAssignment(location: uId, key, clientUserId: clientUserId) {
                try store.addAssigned(location: uId, key, -1)
            }
        }
        for seat in try store.seats(location: uId, clientUserId: clientUserId) {
            try store.deleteSeat(id: seat.id)
        }
    }

    // MARK: Applying users' licences

    /// The event's users split into those registered at the location (and not retired) and
    /// the rest, which fail with 9609.
    func activeUsers(_ event: SimulatedEvent) throws -> (active: [SimulatedUser], unknown: [String]) {
        var active: [SimulatedUser] = []
        var unknown: [String] = []
        for id in try event.serialNumbers.decoded() {
            if let user = try store.user(location: event.locationUid, id), user.isActive {
                active.append(user)
            } else {
                unknown.append(id)
            }
        }
        return (active, unknown)
    }

    /// Like devices' associate, from the same pool of licences (`assets.assigned` counts both).
    /// Beyond devices: 9609 for a user not registered here; 9616 with `regUsersAlreadyAssigned`
    /// when another active user of the location with the same Apple Account holds the asset.
    func associateUsers(_ event: SimulatedEvent, version: Int) throws -> EventEffect {
        let uId = event.locationUid
        let (active, unknown) = try activeUsers(event)
        var completed = 0
        var failures: [EventFailure] = []
        var done: [WireAssignment] = []
        for key in event.assets {
            guard let asset = try store.asset(location: uId, key) else {
                preconditionFailure("an associate event names an asset validation should have refused")
            }
            var available = asset.available
            var inserted = 0
            var unserved: [String] = []
            for user in active {
                if try store.userHolds(location: uId, key, clientUserId: user.clientUserId) {
                    done.append(WireAssignment(adamId: key.adamId, pricingParam: key.pricingParam, clientUserId: user.clientUserId))
                    completed += 1
                    continue
                }
                if let account = user.appleAccount {
                    let holders = try store.usersSharingAccount(location: uId, appleAccount: account, except: user.clientUserId)
                        .filter { try store.userHolds(location: uId, key, clientUserId: $0.clientUserId) }
                    if !holders.isEmpty {
                        failures.append(ServiceErrorCatalog.failure(
                            AppleErrorNumber.licenseAlreadyAssigned, assets: [key], clientUserIds: [user.clientUserId],
                            regUsersAlreadyAssigned: holders.map {
                                AlreadyAssignedUser(clientUserId: $0.clientUserId, idHash: $0.idHash, email: $0.email, status: $0.status.rawValue)
                            }))
                        continue
                    }
                }
                guard available > 0 else {
                    unserved.append(user.clientUserId)
                    continue
                }
                if try store.insertUserAssignment(location: uId, key, clientUserId: user.clientUserId, version: version) {
                    inserted += 1
                    available -= 1
                }
                done.append(WireAssignment(adamId: key.adamId, pricingParam: key.pricingParam, clientUserId: user.clientUserId))
                completed += 1
            }
            try store.addAssigned(location: uId, key, inserted)
            if !unserved.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notEnoughLicenses, assets: [key], clientUserIds: unserved))
            }
        }
        if !unknown.isEmpty {
            failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, assets: event.assets, clientUserIds: unknown))
        }
        return EventEffect(outcome: EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures), done: { done })
    }

    /// Frees each held (asset, user); not held counts as done; a non-revocable asset fails the
    /// item with 9706; a user not registered here fails with 9609.
    func disassociateUsers(_ event: SimulatedEvent) throws -> EventEffect {
        let uId = event.locationUid
        let (active, unknown) = try activeUsers(event)
        var completed = 0
        var failures: [EventFailure] = []
        var done: [WireAssignment] = []
        for key in event.assets {
            guard let asset = try store.asset(location: uId, key) else {
                preconditionFailure("a disassociate event names an asset validation should have refused")
            }
            var kept: [String] = []
            var deleted = 0
            for user in active {
                let wire = WireAssignment(adamId: key.adamId, pricingParam: key.pricingParam, clientUserId: user.clientUserId)
                if asset.revocable {
                    if try store.deleteUserAssignment(location: uId, key, clientUserId: user.clientUserId) { deleted += 1 }
                    completed += 1
                    done.append(wire)
                } else if try store.userHolds(location: uId, key, clientUserId: user.clientUserId) {
                    kept.append(user.clientUserId)
                } else {
                    completed += 1
                    done.append(wire)
                }
            }
            try store.addAssigned(location: uId, key, -deleted)
            if !kept.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notRevocable, assets: [key], clientUserIds: kept))
            }
        }
        if !unknown.isEmpty {
            failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, assets: event.assets, clientUserIds: unknown))
        }
        return EventEffect(outcome: EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures), done: { done })
    }

    /// Every revocable asset of the users; a user not registered here fails with 9609.
    func revokeUsers(_ event: SimulatedEvent) throws -> EventEffect {
        let uId = event.locationUid
        let (active, unknown) = try activeUsers(event)
        let assets = try store.assets(location: uId)
        var done: [WireAssignment] = []
        for user in active {
            for key in try store.userAssets(location: uId, clientUserId: user.clientUserId) {
                guard let asset = assets.first(where: { $0.key == key }), asset.revocable else { continue }
                guard try store.deleteUserAssignment(location: uId, key, clientUserId: user.clientUserId) else { continue }
                try store.addAssigned(location: uId, key, -1)
                done.append(WireAssignment(adamId: key.adamId, pricingParam: key.pricingParam, clientUserId: user.clientUserId))
            }
        }
        let failures = unknown.isEmpty ? [] : [ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, clientUserIds: unknown)]
        return EventEffect(outcome: EventOutcome(failed: !failures.isEmpty, numCompleted: active.count, failures: failures), done: { done })
    }
}
