import AllotCore
import Foundation

/// A person of a tenant's roster.
public struct UserRecord: Sendable, Hashable, Codable {
    public let id: UserID
    /// The roster's `user_id`.
    public let userId: String
    /// What Apple knows the person by, at every location they are registered at.
    public let clientUserId: String
    public let email: String?
    public let managedAppleId: String?
    public let group: String?
    public let retired: Bool
}

/// A person at one location: registered there lazily, when a licence of that token is first
/// theirs; the status is Apple's, from its answers and notifications.
public struct UserLocation: Sendable, Hashable, Codable {
    public let tokenId: TokenID
    public let locationUid: String
    public let locationName: String
    public let status: UserLocationStatus
    public let appleUserId: String?
    public let inviteCode: String?
    public let inviteUrl: String?
}

/// One licence a person holds: the app, the token it came from, whether Apple confirmed it.
public struct UserHolding: Sendable, Hashable, Codable {
    public let userId: String
    public let adamId: String
    public let pricingParam: String
    public let tokenId: TokenID
    public let locationUid: String
    public let confirmed: Bool
}

/// What `users retire` did.
public struct UserRetirement: Sendable, Hashable, Codable {
    /// Licences given back.
    public var revoked = 0
    /// The users retired, sorted.
    public var users: [String] = []
    public init() {}
}

/// A user to register; nil fields are left as stored.
public struct UserInput: Sendable, Hashable {
    public let userId: String
    public let email: String?
    public let managedAppleId: String?
    public let group: String?
    public init(userId: String, email: String? = nil, managedAppleId: String? = nil, group: String? = nil) {
        self.userId = userId
        self.email = email
        self.managedAppleId = managedAppleId
        self.group = group
    }
}

extension Ledger {
    static let userColumns = "id, user_key, client_user_id, email, managed_apple_id, grp, retired_at IS NOT NULL"

    static func userRecord(from row: any SQLRow) -> UserRecord {
        UserRecord(id: UserID(row.int64(0)), userId: row.string(1), clientUserId: row.string(2), email: row.optionalString(3),
                   managedAppleId: row.optionalString(4), group: row.optionalString(5), retired: row.bool(6))
    }

    // MARK: The roster of people

    /// Imports a CSV roster of people: bad lines are rejected with their line number, the good
    /// ones imported in one transaction. A file that cannot be a roster at all changes nothing.
    public func importUsers(tenant: TenantID, csv: some Collection<UInt8>) throws -> ImportReport {
        let roster: UserRoster
        do { roster = try UserRoster(csv: csv) } catch { throw AllotError.invalidInput(error.message) }
        let inputs = roster.rows.map { UserInput(userId: $0.userId, email: $0.email, managedAppleId: $0.managedAppleId, group: $0.group) }
        var report = try write(tenant: tenant) {
            let report = try upsertUsers(tenant: tenant, inputs)
            try recordEvent(tenant: tenant, kind: .usersImported,
                            detail: ["imported": report.imported, "updated": report.updated, "rejected": roster.rejected.count])
            return report
        }
        report.rejected = roster.rejected
        return report
    }

    /// Registers or updates users, inside the caller's write. A retired user imported again is
    /// brought back under a new clientUserId: Apple keeps the retired one retired.
    public func upsertUsers(tenant: TenantID, _ users: [UserInput]) throws -> ImportReport {
        var report = ImportReport()
        for user in users {
            guard let key = UserKey.normalized(user.userId) else { throw AllotError.invalidInput(UserKey.problem(with: user.userId)) }
            let values: [SQLValue] = [.integer(tenant.rawValue), .text(key), SQLValue(user.email), SQLValue(user.managedAppleId), SQLValue(user.group)]
            let inserted = try database.run("""
                INSERT INTO users (tenant_id, user_key, client_user_id, email, managed_apple_id, grp)
                VALUES (?1, ?2, ?6, nullif(?3, ''), nullif(?4, ''), nullif(?5, ''))
                ON CONFLICT (tenant_id, user_key) DO NOTHING
                """, values + [.text(UUID().uuidString.lowercased())])
            if inserted == 1 {
                report.imported += 1
                continue
            }
            guard let (id, retired) = try database.queryFirst("SELECT id, retired_at IS NOT NULL FROM users WHERE tenant_id = ? AND user_key = ?",
                                                              [.integer(tenant.rawValue), .text(key)], row: { (UserID($0.int64(0)), $0.bool(1)) }) else {
                preconditionFailure("a user the insert found exists")
            }
            try database.run("""
                UPDATE users SET
                    email = CASE WHEN ?3 = '' THEN NULL ELSE coalesce(?3, email) END,
                    managed_apple_id = CASE WHEN ?4 = '' THEN NULL ELSE coalesce(?4, managed_apple_id) END,
                    grp = CASE WHEN ?5 = '' THEN NULL ELSE coalesce(?5, grp) END
                WHERE tenant_id = ?1 AND user_key = ?2
                """, values)
            if retired {
                try database.run("DELETE FROM user_locations WHERE tenant_id = ? AND user_id = ?", [.integer(tenant.rawValue), .integer(id.rawValue)])
                try database.run("UPDATE users SET retired_at = NULL, client_user_id = ? WHERE id = ?",
                                 [.text(UUID().uuidString.lowercased()), .integer(id.rawValue)])
            }
            report.updated += 1
        }
        return report
    }

    public func users(tenant: TenantID, group: String? = nil, includeRetired: Bool = true) throws -> [UserRecord] {
        try database.query("""
            SELECT \(Self.userColumns) FROM users
            WHERE tenant_id = ?1 AND (grp = ?2 OR ?2 IS NULL) AND (?3 = 1 OR retired_at IS NULL)
            ORDER BY user_key
            """, [.integer(tenant.rawValue), SQLValue(group), .integer(includeRetired ? 1 : 0)], row: Self.userRecord(from:))
    }

    /// Whether any user of the tenant, retired or not, is in this group.
    public func userGroupExists(tenant: TenantID, group: String) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM users WHERE tenant_id = ?1 AND grp = ?2 LIMIT 1",
                                [.integer(tenant.rawValue), .text(group)]) { $0.int(0) } != nil
    }

    /// The roster ids of the tenant's users under management, optionally of one group.
    public func activeUserKeys(tenant: TenantID, group: String? = nil) throws -> [String] {
        try database.query("SELECT user_key FROM users WHERE tenant_id = ?1 AND retired_at IS NULL AND (grp = ?2 OR ?2 IS NULL) ORDER BY id",
                           [.integer(tenant.rawValue), SQLValue(group)]) { $0.string(0) }
    }

    /// A user by roster id, with their locations and licences (`allot users show`).
    public func user(tenant: TenantID, userId raw: String) throws -> (user: UserRecord, locations: [UserLocation], holdings: [UserHolding]) {
        guard let key = UserKey.normalized(raw) else { throw AllotError.invalidInput(UserKey.problem(with: raw)) }
        guard let user = try database.queryFirst("SELECT \(Self.userColumns) FROM users WHERE tenant_id = ? AND user_key = ?",
                                                 [.integer(tenant.rawValue), .text(key)], row: Self.userRecord(from:)) else {
            throw AllotError.notFound("there is no user '\(key.printableExcerpt)' in this tenant; import them first")
        }
        let locations = try database.query("""
            SELECT l.token_id, t.location_uid, t.location_name, l.status, l.apple_user_id, l.invite_code, l.invite_url
            FROM user_locations l JOIN tokens t ON t.id = l.token_id
            WHERE l.tenant_id = ? AND l.user_id = ? ORDER BY l.token_id
            """, [.integer(tenant.rawValue), .integer(user.id.rawValue)]) { row in
            guard let status = UserLocationStatus(rawValue: row.string(3)) else {
                throw StoredValueError(column: "user_locations.status", value: row.string(3))
            }
            return UserLocation(tokenId: TokenID(row.int64(0)), locationUid: row.string(1), locationName: row.string(2), status: status,
                                appleUserId: row.optionalString(4), inviteCode: row.optionalString(5), inviteUrl: row.optionalString(6))
        }
        let holdings = try database.query("""
            SELECT s.adam_id, s.pricing_param, a.token_id, t.location_uid, a.status FROM user_assignments a
            JOIN assets s ON s.tenant_id = a.tenant_id AND s.id = a.asset_id
            JOIN tokens t ON t.tenant_id = a.tenant_id AND t.id = a.token_id
            WHERE a.tenant_id = ? AND a.user_id = ? ORDER BY s.adam_id, s.pricing_param
            """, [.integer(tenant.rawValue), .integer(user.id.rawValue)]) { row in
            UserHolding(userId: user.userId, adamId: row.string(0), pricingParam: row.string(1), tokenId: TokenID(row.int64(2)),
                        locationUid: row.string(3), confirmed: row.int(4) == 1)
        }
        return (user, locations, holdings)
    }

    /// Takes every licence back from these users and retires them, here and (through the
    /// outbox, after the licences) at every location they are registered at. Refused whole,
    /// with nothing changed, if an id is malformed or unknown.
    public func retireUsers(tenant: TenantID, userIds: [String]) throws -> UserRetirement {
        guard !userIds.isEmpty else { throw AllotError.invalidInput("no user ids were given; name the users to retire") }
        guard userIds.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(userIds.count) users is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        return try write(tenant: tenant) {
            var users: [(id: UserID, key: String, clientUserId: String)] = []
            var seen = Set<UserID>()
            for raw in userIds {
                guard let key = UserKey.normalized(raw) else { throw AllotError.invalidInput(UserKey.problem(with: raw) + "; nothing was retired") }
                guard let user = try database.queryFirst("SELECT id, client_user_id FROM users WHERE tenant_id = ? AND user_key = ?",
                                                         [.integer(tenant.rawValue), .text(key)], row: { (UserID($0.int64(0)), $0.string(1)) }) else {
                    throw AllotError.notFound("no user '\(key.printableExcerpt)' is in this tenant's roster; nothing was retired")
                }
                if seen.insert(user.0).inserted { users.append((user.0, key, user.1)) }
            }
            var report = UserRetirement()
            let batch = try insertBatch(tenant: tenant, kind: "retire", itemCount: users.count, key: nil)
            var deltas: [PoolKey: Int] = [:]
            var released: [PoolKey: [UserID]] = [:]
            for user in users {
                let held = try database.query("DELETE FROM user_assignments WHERE tenant_id = ? AND user_id = ? RETURNING asset_id, token_id",
                                              [.integer(tenant.rawValue), .integer(user.id.rawValue)]) { (AssetID($0.int64(0)), TokenID($0.int64(1))) }
                for (asset, token) in held {
                    let pool = PoolKey(tokenId: token, assetId: asset)
                    deltas[pool, default: 0] -= 1
                    released[pool, default: []].append(user.id)
                    report.revoked += 1
                }
                try database.run("DELETE FROM user_demand_queue WHERE tenant_id = ? AND user_id = ?", [.integer(tenant.rawValue), .integer(user.id.rawValue)])
            }
            var plan = UserBatchPlan()
            plan.poolDeltas = deltas
            plan.appleUsers = released
            plan.changedCount = report.revoked
            try applyUserEffects(tenant: tenant, batch: batch, direction: .revoke, plan: plan)
            // Then each location's retirement, after its give-backs in commit order.
            var retiring: [TokenID: [String]] = [:]
            for user in users {
                for token in try database.query("""
                    UPDATE user_locations SET status = 'retiring', updated_at = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND status <> 'retired'
                    RETURNING token_id
                    """, [.integer(tenant.rawValue), .integer(user.id.rawValue), .integer(now)], row: { TokenID($0.int64(0)) }) {
                    retiring[token, default: []].append(user.clientUserId)
                }
                try database.run("UPDATE users SET retired_at = coalesce(retired_at, ?) WHERE id = ?", [.integer(now), .integer(user.id.rawValue)])
                report.users.append(user.key)
            }
            for (token, ids) in retiring.sorted(by: { $0.key < $1.key }) {
                try insertOperation(tenant: tenant, token: token, kind: .retireUsers, asset: Self.userRecordsAsset, serials: ids,
                                    batch: batch.rawValue, subject: .users)
            }
            report.users.sort()
            try recordEvent(tenant: tenant, kind: .usersRetired, detail: ["users": users.count, "revoked": report.revoked])
            return report
        }
    }

    /// The asset column of an operation on user records, which concern no asset.
    static let userRecordsAsset = AssetKey(adamId: "0", pricingParam: .standard)

    // MARK: User batches

    /// Decides `items` with `planner` against the tenant's users and their assignment rows,
    /// writing the rows it decided: on SQLite a statement per step (in-process), on PostgreSQL
    /// set-based (a round trip per item would cost a network wait each).
    public func decideUsers(_ items: [UserItem], tenant: TenantID, batch: BatchID, assets: [AssetKey: AssetRef],
                            planner: inout UserBatchPlanner) throws -> UserBatchPlan {
        if let postgres {
            var ledger = try PostgresUserBatchLedger(database: postgres, tenant: tenant, items: items, assets: assets)
            let plan = try planner.plan(items, ledger: &ledger.model)
            try ledger.write(batch: batch)
            return plan
        }
        var ledger = SQLUserLedger(database: database, tenant: tenant, batch: batch)
        return try planner.plan(items, ledger: &ledger)
    }

    /// Writes what a user batch decided: one counter update per pool touched (the same counters
    /// the devices' batches move), the users' registration at each location that lends them a
    /// licence for the first time, then one operation per pool for Apple. In commit order, a
    /// user's registration at a location comes before their first association there.
    public func applyUserEffects(tenant: TenantID, batch: BatchID, direction: BatchDirection, plan: UserBatchPlan) throws {
        try movePoolCounters(plan.poolDeltas, direction: direction)
        guard !plan.appleUsers.isEmpty else { return }
        let clientIds = try clientUserIds(tenant: tenant, Set(plan.appleUsers.values.joined()))
        let assetKeys = try assetKeys(ids: Set(plan.appleUsers.keys.map(\.assetId)))
        let pools = plan.appleUsers.sorted { $0.key < $1.key }
        if direction == .assign {
            var registering: [TokenID: (asset: AssetKey, ids: [String])] = [:]
            for (pool, users) in pools {
                for user in users {
                    let inserted = try database.run("""
                        INSERT INTO user_locations (tenant_id, user_id, token_id, status, updated_at) VALUES (?, ?, ?, 'registering', ?)
                        ON CONFLICT (user_id, token_id) DO NOTHING
                        """, [.integer(tenant.rawValue), .integer(user.rawValue), .integer(pool.tokenId.rawValue), .integer(now)])
                    guard inserted == 1, let id = clientIds[user] else { continue }
                    registering[pool.tokenId, default: (assetKeys[pool.assetId]!, [])].ids.append(id)
                }
            }
            for (token, registration) in registering.sorted(by: { $0.key < $1.key }) {
                try insertOperation(tenant: tenant, token: token, kind: .registerUsers, asset: registration.asset, serials: registration.ids,
                                    batch: batch.rawValue, subject: .users)
            }
        }
        for (pool, users) in pools where !users.isEmpty {
            try insertOperation(tenant: tenant, token: pool.tokenId, kind: direction == .assign ? .associate : .disassociate,
                                asset: assetKeys[pool.assetId]!, serials: users.map { clientIds[$0]! }, batch: batch.rawValue, subject: .users)
        }
        try database.run("UPDATE batches SET changed_count = changed_count + ? WHERE id = ?", [.integer(Int64(plan.changedCount)), .integer(batch.rawValue)])
    }

    /// One counter update per pool, checked as `applyEffects` checks it.
    func movePoolCounters(_ poolDeltas: [PoolKey: Int], direction: BatchDirection) throws {
        for (pool, delta) in poolDeltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
            let counts = try database.queryFirst("""
                UPDATE pool SET assigned_here = assigned_here + ?3 WHERE token_id = ?1 AND asset_id = ?2
                RETURNING assigned_here, total
                """, [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue), .integer(Int64(delta))]) { ($0.int(0), $0.int(1)) }
            guard let (assignedHere, total) = counts else { preconditionFailure("a batch drew on pool \(pool) that does not exist") }
            precondition(assignedHere >= 0, "pool \(pool) went below zero assignments")
            precondition(direction == .revoke || assignedHere <= total, "an assign batch took pool \(pool) above its total")
        }
    }

    /// The clientUserIds of these users.
    func clientUserIds(tenant: TenantID, _ users: Set<UserID>) throws -> [UserID: String] {
        var ids: [UserID: String] = [:]
        for chunk in SQLInList.chunks(Array(users)) {
            for (user, id) in try database.query("""
                SELECT id, client_user_id FROM users WHERE tenant_id = ?1 AND id IN (\(SQLInList.placeholders(count: chunk.count, first: 2)))
                """, [.integer(tenant.rawValue)] + SQLInList.padded(chunk.map { .integer($0.rawValue) }), row: { (UserID($0.int64(0)), $0.string(1)) }) {
                ids[user] = id
            }
        }
        return ids
    }

    // MARK: Apple's answers about users

    /// Apple finished a user operation: the associations become confirmed, the users Apple
    /// refused are released (their pool counter lowered), and a registration or retirement
    /// moves the users' status at the location. Inside the caller's write. Returns the
    /// clientUserIds released.
    public func completeUserOperation(_ operation: OutboxOperation, refused: Set<String>, asset: AssetID?) throws -> [String] {
        precondition(operation.subject == .users, "a user operation")
        let done = operation.serials.filter { !refused.contains($0) }
        switch operation.kind {
        case .registerUsers:
            try setUserStatus(token: operation.tokenId, clientUserIds: done, .registered, onlyFrom: [.registering])
            return []
        case .retireUsers:
            try setUserStatus(token: operation.tokenId, clientUserIds: done, .retired, onlyFrom: nil)
            return []
        case .disassociate, .revoke:
            return []
        case .associate:
            guard let asset else { return [] }
            for chunk in SQLInList.chunks(done) {
                try database.run("""
                    UPDATE user_assignments SET status = 1 WHERE tenant_id = ?1 AND asset_id = ?2 AND token_id = ?3 AND (batch_id = ?4 OR ?4 IS NULL)
                    AND user_id IN (SELECT id FROM users WHERE tenant_id = ?1 AND client_user_id IN (\(SQLInList.placeholders(count: chunk.count, first: 5))))
                    """, [.integer(operation.tenantId.rawValue), .integer(asset.rawValue), .integer(operation.tokenId.rawValue),
                          SQLValue(operation.batchId)] + SQLInList.padded(chunk.map { .text($0) }))
            }
            var released: [String] = []
            for id in operation.serials where refused.contains(id) {
                let deleted = try database.run("""
                    DELETE FROM user_assignments WHERE tenant_id = ?1 AND asset_id = ?2 AND token_id = ?3 AND (batch_id = ?5 OR ?5 IS NULL)
                    AND user_id = (SELECT id FROM users WHERE tenant_id = ?1 AND client_user_id = ?4)
                    """, [.integer(operation.tenantId.rawValue), .integer(asset.rawValue), .integer(operation.tokenId.rawValue), .text(id),
                          SQLValue(operation.batchId)])
                if deleted == 1 { released.append(id) }
            }
            if !released.isEmpty { try lowerAssignedHere(token: operation.tokenId, asset: asset, by: released.count) }
            return released
        }
    }

    /// Moves users' status at one location (from Apple's answers or notifications), recording
    /// a `user_status_changed` event per change. `onlyFrom`: the statuses it may move from
    /// (nil: any). Returns how many changed.
    @discardableResult
    public func setUserStatus(token: TokenID, clientUserIds: [String], _ status: UserLocationStatus, onlyFrom: Set<UserLocationStatus>?,
                              appleUserId: String? = nil, inviteCode: String? = nil, inviteUrl: String? = nil) throws -> Int {
        var changed = 0
        for id in clientUserIds {
            guard let (user, tenant, key, before) = try database.queryFirst("""
                SELECT u.id, u.tenant_id, u.user_key, l.status FROM users u JOIN user_locations l ON l.user_id = u.id AND l.token_id = ?2
                WHERE u.client_user_id = ?1
                """, [.text(id), .integer(token.rawValue)], row: { (UserID($0.int64(0)), TenantID($0.int64(1)), $0.string(2), $0.string(3)) }) else { continue }
            let previous = UserLocationStatus(rawValue: before)
            if let onlyFrom, let previous, !onlyFrom.contains(previous) {
                // Still keep what Apple told of the invitation.
                try database.run("""
                    UPDATE user_locations SET apple_user_id = coalesce(?3, apple_user_id), invite_code = coalesce(?4, invite_code),
                        invite_url = coalesce(?5, invite_url) WHERE user_id = ?1 AND token_id = ?2
                    """, [.integer(user.rawValue), .integer(token.rawValue), SQLValue(appleUserId), SQLValue(inviteCode), SQLValue(inviteUrl)])
                continue
            }
            try database.run("""
                UPDATE user_locations SET status = ?3, apple_user_id = coalesce(?4, apple_user_id), invite_code = coalesce(?5, invite_code),
                    invite_url = coalesce(?6, invite_url), updated_at = ?7 WHERE user_id = ?1 AND token_id = ?2
                """, [.integer(user.rawValue), .integer(token.rawValue), .text(status.rawValue), SQLValue(appleUserId), SQLValue(inviteCode),
                      SQLValue(inviteUrl), .integer(now)])
            if previous != status {
                changed += 1
                try recordEvent(tenant: tenant, kind: .userStatusChanged, token: token,
                                detail: ["user": key, "from": before, "to": status.rawValue])
            }
        }
        return changed
    }

    /// The clientUserIds of users registered at a token who have not accepted their invitation
    /// (as far as the ledger knows): what a sync asks Apple about.
    public func usersNotYetAssociated(token: TokenID) throws -> [String] {
        try database.query("""
            SELECT u.client_user_id FROM user_locations l JOIN users u ON u.id = l.user_id
            WHERE l.token_id = ? AND l.status = ? ORDER BY u.id
            """, [.integer(token.rawValue), .text(UserLocationStatus.registered.rawValue)]) { $0.string(0) }
    }

    /// Confirmed user licences per asset of a token (what Apple counts of ours, with the devices').
    func confirmedUserAssignments(tenant: TenantID, token: TokenID) throws -> [AssetKey: Int] {
        var counts: [AssetKey: Int] = [:]
        for (key, confirmed) in try database.query("""
            SELECT a.adam_id, a.pricing_param, count(*) FROM user_assignments s JOIN assets a ON a.id = s.asset_id
            WHERE s.tenant_id = ? AND s.token_id = ? AND s.status = 1 GROUP BY a.adam_id, a.pricing_param
            """, [.integer(tenant.rawValue), .integer(token.rawValue)], row: {
                (try Self.storedAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)), $0.int(2))
            }) {
            counts[key] = confirmed
        }
        return counts
    }
}

/// The user planner's view of the ledger: one portable statement per step, both engines.
struct SQLUserLedger: UserAssignmentLedger {
    let database: any LedgerDatabase
    let tenant: TenantID
    let batch: BatchID

    mutating func user(key: String) throws -> UserRef? {
        try database.queryFirst("SELECT id, retired_at IS NOT NULL FROM users WHERE tenant_id = ? AND user_key = ?",
                                [.integer(tenant.rawValue), .text(key)]) { UserRef(id: UserID($0.int64(0)), retired: $0.bool(1)) }
    }

    mutating func insertUserAssignment(asset: AssetID, user: UserID, token: TokenID) throws -> Bool {
        try database.run("""
            INSERT INTO user_assignments (tenant_id, asset_id, user_id, token_id, status, batch_id) VALUES (?, ?, ?, ?, 0, ?)
            ON CONFLICT DO NOTHING
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(user.rawValue), .integer(token.rawValue), .integer(batch.rawValue)]) == 1
    }

    mutating func holds(asset: AssetID, user: UserID) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM user_assignments WHERE tenant_id = ? AND asset_id = ? AND user_id = ?",
                                [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(user.rawValue)]) { _ in true } == true
    }

    mutating func deleteUserAssignment(asset: AssetID, user: UserID) throws -> TokenID? {
        try database.queryFirst("DELETE FROM user_assignments WHERE tenant_id = ? AND asset_id = ? AND user_id = ? RETURNING token_id",
                                [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(user.rawValue)]) { TokenID($0.int64(0)) }
    }
}

// MARK: The users' queue of unmet demand

extension Ledger {
    /// A user waits for an app (one who waits already keeps their place).
    public func joinUserQueue(tenant: TenantID, asset: AssetKey, userId: String) throws {
        try database.run("""
            INSERT INTO user_demand_queue (tenant_id, asset_id, user_id, queued_at)
            SELECT s.tenant_id, s.id, u.id, ?
            FROM assets s JOIN users u ON u.tenant_id = s.tenant_id
            WHERE s.tenant_id = ? AND s.adam_id = ? AND s.pricing_param = ? AND u.user_key = ?
            ON CONFLICT (tenant_id, asset_id, user_id) DO NOTHING
            """, [.integer(now), .integer(tenant.rawValue), .text(asset.adamId), .text(asset.pricingParam.rawValue), .text(userId)])
    }

    /// A user leaves an app's queue; false when they were not waiting.
    public func leaveUserQueue(tenant: TenantID, asset: AssetID, userId: String) throws -> Bool {
        try database.run("""
            DELETE FROM user_demand_queue WHERE tenant_id = ? AND asset_id = ?
            AND user_id = (SELECT id FROM users WHERE tenant_id = ? AND user_key = ?)
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(tenant.rawValue), .text(userId)]) == 1
    }

    /// The first users waiting for an app, in order of arrival.
    public func userQueueHead(tenant: TenantID, asset: AssetID, limit: Int) throws -> [(entry: Int64, userId: String)] {
        try database.query("""
            SELECT q.id, u.user_key FROM user_demand_queue q JOIN users u ON u.tenant_id = q.tenant_id AND u.id = q.user_id
            WHERE q.tenant_id = ? AND q.asset_id = ? ORDER BY q.id LIMIT ?
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(Int64(limit))]) { ($0.int64(0), $0.string(1)) }
    }

    public func deleteUserQueueEntry(_ entry: Int64) throws {
        try database.run("DELETE FROM user_demand_queue WHERE id = ?", [.integer(entry)])
    }

    public func userWaitingCount(tenant: TenantID, asset: AssetID? = nil) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM user_demand_queue WHERE tenant_id = ?1 AND (asset_id = ?2 OR ?2 IS NULL)",
                                [.integer(tenant.rawValue), SQLValue(asset?.rawValue)]) { $0.int(0) } ?? 0
    }

    /// The apps users wait for.
    public func assetsWithUserDemand(tenant: TenantID) throws -> [AssetKey] {
        try database.query("""
            SELECT DISTINCT s.adam_id, s.pricing_param FROM user_demand_queue q JOIN assets s ON s.tenant_id = q.tenant_id AND s.id = q.asset_id
            WHERE q.tenant_id = ? ORDER BY s.adam_id, s.pricing_param
            """, [.integer(tenant.rawValue)]) { try Self.storedAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)) }
    }
}

// MARK: Idempotent answers of user batches

extension Ledger {
    /// The answer a user batch gave under a key, with its fingerprint: `answer` is nil when the
    /// key answered a device batch (the caller refuses it). Nil when the key answered nothing.
    public func storedUserAnswer(tenant: TenantID, key: String) throws -> (answer: UserBatchOutcome?, fingerprint: String?)? {
        guard let (response, fingerprint) = try database.queryFirst(
            "SELECT response, request_fingerprint FROM batches WHERE tenant_id = ? AND idempotency_key = ?",
            [.integer(tenant.rawValue), .text(key)], row: { ($0.blob(0), $0.optionalString(1)) }), let response else { return nil }
        return (try? JSONDecoder().decode(UserBatchOutcome.self, from: Data(response)), fingerprint)
    }

    public func storeUserAnswer(batch: BatchID, _ outcome: UserBatchOutcome, fingerprint: String) throws {
        try database.run("UPDATE batches SET response = ?, request_fingerprint = ? WHERE id = ?",
                         [.blob(Array(try JSONEncoder().encode(outcome))), .text(fingerprint), .integer(batch.rawValue)])
    }
}

extension Ledger {
    /// The tenant's users with these clientUserIds (what `users/create` sends of them).
    public func userRecords(tenant: TenantID, clientUserIds: [String]) throws -> [String: UserRecord] {
        var records: [String: UserRecord] = [:]
        for chunk in SQLInList.chunks(clientUserIds) {
            for record in try database.query("""
                SELECT \(Self.userColumns) FROM users WHERE tenant_id = ?1 AND client_user_id IN (\(SQLInList.placeholders(count: chunk.count, first: 2)))
                """, [.integer(tenant.rawValue)] + SQLInList.padded(chunk.map { .text($0) }), row: Self.userRecord(from:)) {
                records[record.clientUserId] = record
            }
        }
        return records
    }
}

extension Ledger {
    /// Inside the caller's write: takes back every person's licence drawn on a token (its
    /// removal), locally now and at Apple through the outbox. How many.
    func revokeUserAssignments(tenant: TenantID, token: TokenID) throws -> Int {
        let held = try database.query("DELETE FROM user_assignments WHERE tenant_id = ? AND token_id = ? RETURNING asset_id, user_id",
                                      [.integer(tenant.rawValue), .integer(token.rawValue)]) { (AssetID($0.int64(0)), UserID($0.int64(1))) }
        guard !held.isEmpty else { return 0 }
        var plan = UserBatchPlan()
        for (asset, user) in held {
            let pool = PoolKey(tokenId: token, assetId: asset)
            plan.poolDeltas[pool, default: 0] -= 1
            plan.appleUsers[pool, default: []].append(user)
        }
        plan.changedCount = held.count
        let batch = try insertBatch(tenant: tenant, kind: "remove_token", itemCount: held.count, key: nil)
        try applyUserEffects(tenant: tenant, batch: batch, direction: .revoke, plan: plan)
        return held.count
    }
}

/// A person waiting in an app's queue of unmet demand, with their place among the people
/// waiting for it (1 is served first; the devices waiting for the app are served before them).
public struct UserQueueEntry: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    public let position: Int
    public let userId: String
    /// Seconds since 1970.
    public let queuedAt: Int64
}

extension Ledger {
    /// The people waiting, app by app, each app's in the order they are served.
    public func userQueue(tenant: TenantID, asset: AssetKey? = nil) throws -> [UserQueueEntry] {
        let rows = try database.query("""
            SELECT s.adam_id, s.pricing_param, u.user_key, q.queued_at FROM user_demand_queue q
            JOIN assets s ON s.tenant_id = q.tenant_id AND s.id = q.asset_id
            JOIN users u ON u.tenant_id = q.tenant_id AND u.id = q.user_id
            WHERE q.tenant_id = ?1 AND (?2 IS NULL OR (s.adam_id = ?2 AND s.pricing_param = ?3))
            ORDER BY length(s.adam_id), s.adam_id, s.pricing_param, q.id
            """, [.integer(tenant.rawValue), SQLValue(asset?.adamId), SQLValue(asset?.pricingParam.rawValue)]) { row in
            (asset: try Self.storedAssetKey(adamId: row.string(0), pricingParam: row.string(1)), user: row.string(2), at: row.int64(3))
        }
        var positions: [AssetKey: Int] = [:]
        return rows.map { row in
            positions[row.asset, default: 0] += 1
            return UserQueueEntry(adamId: row.asset.adamId, pricingParam: row.asset.pricingParam.rawValue,
                                  position: positions[row.asset]!, userId: row.user, queuedAt: row.at)
        }
    }
}

extension Ledger {
    /// A released person joins the app's queue again, unless retired meanwhile (one who waits
    /// already keeps their place).
    public func requeueUser(tenant: TenantID, asset: AssetID, clientUserId: String) throws {
        try database.run("""
            INSERT INTO user_demand_queue (tenant_id, asset_id, user_id, queued_at)
            SELECT ?1, ?2, id, ?3 FROM users WHERE tenant_id = ?1 AND client_user_id = ?4 AND retired_at IS NULL
            ON CONFLICT (tenant_id, asset_id, user_id) DO NOTHING
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(now), .text(clientUserId)])
    }
}
