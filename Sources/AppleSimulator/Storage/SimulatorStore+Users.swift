import AppleAppsAndBooks
import Foundation

// The rows of users, their licences, subscriptions, seats and cursors. Like `SimulatorStore`,
// no rule of Apple's lives here.

/// One user row.
struct SimulatedUser: Sendable, Equatable {
    var clientUserId: String
    var email: String?
    var managedAppleId: String?
    var status: AppleUserStatus
    var inviteCode: String?
    var idHash: String?
    /// Lowercased; nil until the person has an Apple Account here.
    var appleAccount: String?
    var version: Int

    /// The statuses of a user that may hold licences (not retired or deleted).
    static let activeStatuses: [AppleUserStatus] = [.registered, .associated]
    var isActive: Bool { Self.activeStatuses.contains(status) }

    func wire() -> ResponseUser {
        ResponseUser(clientUserId: clientUserId, email: email, idHash: idHash,
                     inviteCode: status == .associated || status == .registered ? inviteCode : nil, status: status.rawValue)
    }
}

/// One subscription row.
struct SimulatedSubscription: Sendable, Equatable {
    var adamId: Int64
    var parentAdamId: Int64?
    var status: AppleSubscriptionStatus
    /// YYYY-MM-DD.
    var periodEnd: String
    var totalRenewing: Int
    var totalExpiring: Int
}

/// One seat held by a user.
struct SimulatedSeat: Sendable, Equatable {
    var id: Int
    var adamId: Int64
    var clientUserId: String
    var renewing: Bool
    var renewingSeat: Bool
    var deferredEvent: String?

    /// What Apple answers: a seat whose disassociation waits for the period's end no longer renews.
    var answeredRenewing: Bool { renewing && deferredEvent == nil }
    func wire() -> ResponseSubscriptionAssignment {
        ResponseSubscriptionAssignment(adamId: adamId, clientUserId: clientUserId, renewing: answeredRenewing)
    }
}

/// A cursor's row: where the next page of one read starts.
struct SimulatedCursor: Sendable, Equatable {
    var cursor: String
    var location: String
    var query: String
    var afterId: Int
    var used: Bool
}

extension SimulatorStore {
    // MARK: Users

    private static let userColumns = "client_user_id, email, managed_apple_id, status, invite_code, id_hash, apple_account, version"

    private static func userRow(_ row: SimulatorStatement) throws -> SimulatedUser {
        let id = row.string(0)
        guard let status = AppleUserStatus(rawValue: row.string(3)) else {
            throw AppleSimulatorError.stateFile("user \(id) has an unknown status")
        }
        return SimulatedUser(clientUserId: id, email: row.optionalString(1), managedAppleId: row.optionalString(2), status: status,
                             inviteCode: row.optionalString(4), idHash: row.optionalString(5), appleAccount: row.optionalString(6),
                             version: row.int(7))
    }

    func user(location uId: String, _ clientUserId: String) throws -> SimulatedUser? {
        try connection.queryFirst("SELECT \(Self.userColumns) FROM users WHERE location = ? AND client_user_id = ?",
                                  [.text(uId), .text(clientUserId)], row: Self.userRow)
    }

    /// Inserts a new user or writes every field of an existing one.
    func save(_ user: SimulatedUser, location uId: String) throws {
        let changed = try connection.run("""
            UPDATE users SET email = ?, managed_apple_id = ?, status = ?, invite_code = ?, id_hash = ?, apple_account = ?, version = ?
            WHERE location = ? AND client_user_id = ?
            """, [.optional(user.email), .optional(user.managedAppleId), .text(user.status.rawValue), .optional(user.inviteCode),
                  .optional(user.idHash), .optional(user.appleAccount), .int(user.version), .text(uId), .text(user.clientUserId)])
        guard changed == 0 else { return }
        let position = try connection.queryFirst("SELECT coalesce(max(position), 0) + 1 FROM users WHERE location = ?", [.text(uId)]) { $0.int(0) } ?? 1
        try connection.run("""
            INSERT INTO users (location, client_user_id, position, email, managed_apple_id, status, invite_code, id_hash, apple_account, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(uId), .text(user.clientUserId), .int(position), .optional(user.email), .optional(user.managedAppleId),
                  .text(user.status.rawValue), .optional(user.inviteCode), .optional(user.idHash), .optional(user.appleAccount),
                  .int(user.version)])
    }

    /// The filter of `GET /users`.
    struct UserFilter {
        var clientUserId: String?
        var sinceVersion: Int?
        var includeRetired: Bool

        func whereClause(location uId: String) -> (sql: String, values: [SimulatorSQLValue]) {
            var sql = "location = ?"
            var values: [SimulatorSQLValue] = [.text(uId)]
            if let clientUserId { sql += " AND client_user_id = ?"; values.append(.text(clientUserId)) }
            if let sinceVersion { sql += " AND version > ?"; values.append(.int(sinceVersion)) }
            if !includeRetired {
                sql += " AND status IN (?, ?)"
                values += SimulatedUser.activeStatuses.map { .text($0.rawValue) }
            }
            return (sql, values)
        }
    }

    func countUsers(location uId: String, _ filter: UserFilter) throws -> Int {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.queryFirst("SELECT count(*) FROM users WHERE \(clause)", values) { $0.int(0) } ?? 0
    }

    func users(location uId: String, _ filter: UserFilter, offset: Int, limit: Int) throws -> [SimulatedUser] {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.query("SELECT \(Self.userColumns) FROM users WHERE \(clause) ORDER BY position LIMIT ? OFFSET ?",
                                    values + [.int(limit), .int(offset)], row: Self.userRow)
    }

    /// The other active users of the location with this Apple Account.
    func usersSharingAccount(location uId: String, appleAccount: String, except clientUserId: String) throws -> [SimulatedUser] {
        try connection.query("""
            SELECT \(Self.userColumns) FROM users
            WHERE location = ? AND apple_account = ? AND client_user_id <> ? AND status IN (?, ?)
            ORDER BY position
            """, [.text(uId), .text(appleAccount), .text(clientUserId)] + SimulatedUser.activeStatuses.map { .text($0.rawValue) },
            row: Self.userRow)
    }

    // MARK: Users' licences

    func insertUserAssignment(location uId: String, _ key: WireAssetKey, clientUserId: String, version: Int) throws -> Bool {
        try connection.run("INSERT OR IGNORE INTO user_assignments (location, adam_id, pricing_param, client_user_id, version) VALUES (?, ?, ?, ?, ?)",
                           [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(clientUserId), .int(version)]) == 1
    }

    func deleteUserAssignment(location uId: String, _ key: WireAssetKey, clientUserId: String) throws -> Bool {
        try connection.run("DELETE FROM user_assignments WHERE location = ? AND adam_id = ? AND pricing_param = ? AND client_user_id = ?",
                           [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(clientUserId)]) == 1
    }

    func userHolds(location uId: String, _ key: WireAssetKey, clientUserId: String) throws -> Bool {
        try connection.queryFirst("SELECT 1 FROM user_assignments WHERE location = ? AND adam_id = ? AND pricing_param = ? AND client_user_id = ?",
                                  [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(clientUserId)]) { _ in true } ?? false
    }

    /// The assets a user holds, in the order they were assigned.
    func userAssets(location uId: String, clientUserId: String) throws -> [WireAssetKey] {
        try connection.query("SELECT adam_id, pricing_param FROM user_assignments WHERE location = ? AND client_user_id = ? ORDER BY id",
                             [.text(uId), .text(clientUserId)]) { WireAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)) }
    }

    /// The filter of `GET /assignments` over users' licences.
    struct UserAssignmentFilter {
        var adamId: String?
        var pricingParam: String?
        var clientUserId: String?
        var sinceVersion: Int?

        func whereClause(location uId: String) -> (sql: String, values: [SimulatorSQLValue]) {
            var sql = "location = ?"
            var values: [SimulatorSQLValue] = [.text(uId)]
            if let adamId { sql += " AND adam_id = ?"; values.append(.text(adamId)) }
            if let pricingParam { sql += " AND pricing_param = ?"; values.append(.text(pricingParam)) }
            if let clientUserId { sql += " AND client_user_id = ?"; values.append(.text(clientUserId)) }
            if let sinceVersion { sql += " AND version > ?"; values.append(.int(sinceVersion)) }
            return (sql, values)
        }
    }

    func countUserAssignments(location uId: String, _ filter: UserAssignmentFilter) throws -> Int {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.queryFirst("SELECT count(*) FROM user_assignments WHERE \(clause)", values) { $0.int(0) } ?? 0
    }

    func userAssignments(location uId: String, _ filter: UserAssignmentFilter, offset: Int, limit: Int) throws -> [WireAssignment] {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.query("SELECT adam_id, pricing_param, client_user_id FROM user_assignments WHERE \(clause) ORDER BY id LIMIT ? OFFSET ?",
                                    values + [.int(limit), .int(offset)]) {
            WireAssignment(adamId: $0.string(0), pricingParam: $0.string(1), clientUserId: $0.string(2))
        }
    }

    // MARK: Subscription management

    func subscriptionsEnabled(location uId: String) throws -> Bool {
        try connection.queryFirst("SELECT enabled FROM subscription_management WHERE location = ?", [.text(uId)]) { $0.bool(0) } ?? false
    }

    func setSubscriptionsEnabled(location uId: String, _ enabled: Bool) throws {
        try connection.run("INSERT INTO subscription_management (location, enabled) VALUES (?, ?) ON CONFLICT (location) DO UPDATE SET enabled = excluded.enabled",
                           [.text(uId), .bool(enabled)])
    }

    // MARK: Subscriptions

    private static let subscriptionColumns = "adam_id, parent_adam_id, status, period_end, total_renewing, total_expiring"

    private static func subscriptionRow(_ row: SimulatorStatement) throws -> SimulatedSubscription {
        let adamId = Int64(row.int(0))
        guard let status = AppleSubscriptionStatus(rawValue: row.string(2)) else {
            throw AppleSimulatorError.stateFile("subscription \(adamId) has an unknown status")
        }
        return SimulatedSubscription(adamId: adamId, parentAdamId: row.isNull(1) ? nil : Int64(row.int(1)), status: status,
                                     periodEnd: row.string(3), totalRenewing: row.int(4), totalExpiring: row.int(5))
    }

    func subscription(location uId: String, adamId: Int64) throws -> SimulatedSubscription? {
        try connection.queryFirst("SELECT \(Self.subscriptionColumns) FROM subscriptions WHERE location = ? AND adam_id = ?",
                                  [.text(uId), .integer(adamId)], row: Self.subscriptionRow)
    }

    func subscriptions(location uId: String) throws -> [SimulatedSubscription] {
        try connection.query("SELECT \(Self.subscriptionColumns) FROM subscriptions WHERE location = ? ORDER BY position",
                             [.text(uId)], row: Self.subscriptionRow)
    }

    /// Rows after `afterPosition` (the cursor's place), up to `limit`, with their positions.
    func subscriptions(location uId: String, adamId: Int64?, parentAdamId: Int64?, afterPosition: Int, limit: Int) throws -> [(Int, SimulatedSubscription)] {
        var sql = "SELECT position, \(Self.subscriptionColumns) FROM subscriptions WHERE location = ? AND position > ?"
        var values: [SimulatorSQLValue] = [.text(uId), .int(afterPosition)]
        if let adamId { sql += " AND adam_id = ?"; values.append(.integer(adamId)) }
        if let parentAdamId { sql += " AND parent_adam_id = ?"; values.append(.integer(parentAdamId)) }
        sql += " ORDER BY position LIMIT ?"
        values.append(.int(limit))
        return try connection.query(sql, values) { row in
            let adamId = Int64(row.int(1))
            guard let status = AppleSubscriptionStatus(rawValue: row.string(3)) else {
                throw AppleSimulatorError.stateFile("subscription \(adamId) has an unknown status")
            }
            return (row.int(0), SimulatedSubscription(adamId: adamId, parentAdamId: row.isNull(2) ? nil : Int64(row.int(2)), status: status,
                                                      periodEnd: row.string(4), totalRenewing: row.int(5), totalExpiring: row.int(6)))
        }
    }

    func save(_ subscription: SimulatedSubscription, location uId: String) throws {
        let parent: SimulatorSQLValue = subscription.parentAdamId.map { .integer($0) } ?? .null
        let changed = try connection.run("""
            UPDATE subscriptions SET parent_adam_id = ?, status = ?, period_end = ?, total_renewing = ?, total_expiring = ?
            WHERE location = ? AND adam_id = ?
            """, [parent, .text(subscription.status.rawValue), .text(subscription.periodEnd), .int(subscription.totalRenewing),
                  .int(subscription.totalExpiring), .text(uId), .integer(subscription.adamId)])
        guard changed == 0 else { return }
        let position = try connection.queryFirst("SELECT coalesce(max(position), 0) + 1 FROM subscriptions WHERE location = ?", [.text(uId)]) { $0.int(0) } ?? 1
        try connection.run("""
            INSERT INTO subscriptions (location, adam_id, parent_adam_id, position, status, period_end, total_renewing, total_expiring)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(uId), .integer(subscription.adamId), parent, .int(position), .text(subscription.status.rawValue),
                  .text(subscription.periodEnd), .int(subscription.totalRenewing), .int(subscription.totalExpiring)])
    }

    // MARK: Seats

    private static let seatColumns = "id, adam_id, client_user_id, renewing, renewing_seat, deferred_event"

    private static func seatRow(_ row: SimulatorStatement) -> SimulatedSeat {
        SimulatedSeat(id: row.int(0), adamId: Int64(row.int(1)), clientUserId: row.string(2), renewing: row.bool(3),
                      renewingSeat: row.bool(4), deferredEvent: row.optionalString(5))
    }

    func seats(location uId: String, adamId: Int64) throws -> [SimulatedSeat] {
        try connection.query("SELECT \(Self.seatColumns) FROM subscription_assignments WHERE location = ? AND adam_id = ? ORDER BY id",
                             [.text(uId), .integer(adamId)], row: Self.seatRow)
    }

    func seat(location uId: String, adamId: Int64, clientUserId: String) throws -> SimulatedSeat? {
        try connection.queryFirst("SELECT \(Self.seatColumns) FROM subscription_assignments WHERE location = ? AND adam_id = ? AND client_user_id = ?",
                                  [.text(uId), .integer(adamId), .text(clientUserId)], row: Self.seatRow)
    }

    func seats(location uId: String, clientUserId: String) throws -> [SimulatedSeat] {
        try connection.query("SELECT \(Self.seatColumns) FROM subscription_assignments WHERE location = ? AND client_user_id = ? ORDER BY id",
                             [.text(uId), .text(clientUserId)], row: Self.seatRow)
    }

    func countSeats(location uId: String) throws -> Int {
        try connection.queryFirst("SELECT count(*) FROM subscription_assignments WHERE location = ?", [.text(uId)]) { $0.int(0) } ?? 0
    }

    /// Seats after `afterId` in the order they were assigned, up to `limit`.
    func seats(location uId: String, adamId: Int64?, parentAdamId: Int64?, clientUserId: String?, afterId: Int, limit: Int) throws -> [SimulatedSeat] {
        var sql = "SELECT \(Self.seatColumns) FROM subscription_assignments WHERE location = ? AND id > ?"
        var values: [SimulatorSQLValue] = [.text(uId), .int(afterId)]
        if let adamId { sql += " AND adam_id = ?"; values.append(.integer(adamId)) }
        if let parentAdamId {
            sql += " AND adam_id IN (SELECT adam_id FROM subscriptions WHERE location = ? AND parent_adam_id = ?)"
            values += [.text(uId), .integer(parentAdamId)]
        }
        if let clientUserId { sql += " AND client_user_id = ?"; values.append(.text(clientUserId)) }
        sql += " ORDER BY id LIMIT ?"
        values.append(.int(limit))
        return try connection.query(sql, values, row: Self.seatRow)
    }

    func insertSeat(location uId: String, adamId: Int64, clientUserId: String, renewing: Bool, renewingSeat: Bool) throws {
        try connection.run("""
            INSERT INTO subscription_assignments (location, adam_id, client_user_id, renewing, renewing_seat, deferred_event)
            VALUES (?, ?, ?, ?, ?, NULL)
            """, [.text(uId), .integer(adamId), .text(clientUserId), .bool(renewing), .bool(renewingSeat)])
    }

    func setSeatDeferral(id: Int, eventId: String?) throws {
        try connection.run("UPDATE subscription_assignments SET deferred_event = ? WHERE id = ?", [.optional(eventId), .int(id)])
    }

    func deleteSeat(id: Int) throws {
        try connection.run("DELETE FROM subscription_assignments WHERE id = ?", [.int(id)])
    }

    // MARK: Cursors

    func insert(_ cursor: SimulatedCursor, sequence: Int) throws {
        try connection.run("INSERT INTO cursors (cursor, location, query, after_id, used, sequence) VALUES (?, ?, ?, ?, ?, ?)",
                           [.text(cursor.cursor), .text(cursor.location), .text(cursor.query), .int(cursor.afterId), .bool(cursor.used),
                            .int(sequence)])
    }

    func cursor(_ cursor: String) throws -> SimulatedCursor? {
        try connection.queryFirst("SELECT cursor, location, query, after_id, used FROM cursors WHERE cursor = ?", [.text(cursor)]) {
            SimulatedCursor(cursor: $0.string(0), location: $0.string(1), query: $0.string(2), afterId: $0.int(3), used: $0.bool(4))
        }
    }

    func markUsed(cursor: String) throws {
        try connection.run("UPDATE cursors SET used = 1 WHERE cursor = ?", [.text(cursor)])
    }

    /// Keeps a location's newest `keptMax` cursors.
    func pruneCursors(location uId: String, keptMax: Int) throws {
        try connection.run("""
            DELETE FROM cursors WHERE location = ? AND sequence NOT IN
                (SELECT sequence FROM cursors WHERE location = ? ORDER BY sequence DESC LIMIT ?)
            """, [.text(uId), .text(uId), .int(keptMax)])
    }
}
