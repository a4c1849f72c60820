/// People, not only devices: a user's licences come from the same merged pools as the devices'
/// (one pool per app, `assigned_here` counting device and user assignments together), and a
/// person never holds two licences of one app, whatever number of locations they are registered
/// at. These are the batch's value types and its planner; the ledger stores, the engine runs.

/// The id of a user as the tenant's roster names them (`user_id`): what the admin types.
public enum UserKey {
    public static let lengthMax = 200

    /// The id trimmed, or nil when it cannot name a user (empty, too long, control characters).
    public static func normalized(_ raw: String) -> String? {
        let trimmed = raw.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= lengthMax,
              !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return trimmed
    }

    /// Why `raw` is not a user id.
    public static func problem(with raw: String) -> String {
        let trimmed = raw.trimmingWhitespace()
        if trimmed.isEmpty { return "the user id is empty" }
        if trimmed.count > lengthMax { return "the user id '\(trimmed.printableExcerpt)' is longer than \(lengthMax) characters" }
        return "the user id '\(trimmed.printableExcerpt)' holds control characters"
    }
}

/// A user as the planner needs them.
public struct UserRef: Sendable, Hashable {
    public let id: UserID
    public let retired: Bool
    public init(id: UserID, retired: Bool) {
        self.id = id
        self.retired = retired
    }
}

/// One (asset, user) pair of a user batch. The user id is raw: the planner validates it.
public struct UserItem: Sendable, Hashable, Codable {
    public let asset: AssetKey
    public let userId: String
    public init(asset: AssetKey, userId: String) {
        self.asset = asset
        self.userId = userId
    }
}

/// The result of one item of a user batch, in the order of the batch.
public struct UserItemOutcome: BatchItemOutcome {
    public let userId: String
    public let adamId: String
    public let pricingParam: PricingParam
    public let result: ItemResult
    public let tokenId: TokenID?
    public let reason: String?

    public init(userId: String, asset: AssetKey, result: ItemResult, tokenId: TokenID? = nil, reason: String? = nil) {
        self.userId = userId
        self.adamId = asset.adamId
        self.pricingParam = asset.pricingParam
        self.result = result
        self.tokenId = tokenId
        self.reason = reason
    }

    public var asset: AssetKey { AssetKey(adamId: adamId, pricingParam: pricingParam) }
}

/// A people batch's answer: a device batch's shape, its items naming users.
public typealias UserBatchOutcome = BatchOutcomeOf<UserItemOutcome>

/// Where the user planner reads users and writes user assignment rows: the SQL ledgers, and an
/// in-memory model for the property tests.
public protocol UserAssignmentLedger {
    /// The user with this roster id in the batch's tenant, or nil.
    mutating func user(key: String) throws -> UserRef?
    /// Inserts the assignment unless the user already holds the asset; true when inserted.
    mutating func insertUserAssignment(asset: AssetID, user: UserID, token: TokenID) throws -> Bool
    /// Whether the user holds the asset (from any token).
    mutating func holds(asset: AssetID, user: UserID) throws -> Bool
    /// Deletes the assignment; the token it drew on, or nil when there was none.
    mutating func deleteUserAssignment(asset: AssetID, user: UserID) throws -> TokenID?
}

/// What a user batch does: the outcomes, the pool counter changes, and per pool the users to
/// associate (assign) or disassociate (revoke) at that token's location.
public struct UserBatchPlan: Sendable {
    public var outcomes: [UserItemOutcome] = []
    public var poolDeltas: [PoolKey: Int] = [:]
    /// The users per pool, in batch order.
    public var appleUsers: [PoolKey: [UserID]] = [:]
    public var changedCount = 0

    public init() {}

    public var failedCount: Int { outcomes.count { !$0.result.isSuccess } }
}

/// Decides every item of a user batch, in order: invalid_user_id, unknown_app, unknown_user,
/// then the ledger's answer (assigned / already_assigned / no_license, or revoked /
/// not_assigned). Every asset is assignable to a user (books are assignable to users only).
public struct UserBatchPlanner {
    public let direction: BatchDirection
    public let policy: AllocationPolicy
    private let assets: [AssetKey: AssetRef]
    private var pools: [AssetID: [PoolCandidate]]

    public init(direction: BatchDirection, policy: AllocationPolicy, assets: [AssetKey: AssetRef], candidates: [AssetID: [PoolCandidate]]) {
        self.direction = direction
        self.policy = policy
        self.assets = assets
        self.pools = candidates
    }

    public mutating func plan(_ items: [UserItem], ledger: inout some UserAssignmentLedger) throws -> UserBatchPlan {
        var plan = UserBatchPlan()
        plan.outcomes.reserveCapacity(items.count)
        for item in items {
            plan.outcomes.append(try decide(item, ledger: &ledger, plan: &plan))
        }
        return plan
    }

    private mutating func decide(_ item: UserItem, ledger: inout some UserAssignmentLedger, plan: inout UserBatchPlan) throws -> UserItemOutcome {
        guard let key = UserKey.normalized(item.userId) else {
            return UserItemOutcome(userId: item.userId, asset: item.asset, result: .invalidUserId, reason: UserKey.problem(with: item.userId))
        }
        guard let asset = assets[item.asset] else {
            return UserItemOutcome(userId: key, asset: item.asset, result: .unknownApp, reason: "app \(item.asset) is in none of this tenant's tokens")
        }
        guard let user = try ledger.user(key: key) else {
            return UserItemOutcome(userId: key, asset: item.asset, result: .unknownUser,
                                   reason: "no user '\(key.printableExcerpt)' is in this tenant's roster; import them first")
        }
        if user.retired {
            return UserItemOutcome(userId: key, asset: item.asset, result: .unknownUser,
                                   reason: "user '\(key.printableExcerpt)' is retired; import them again to manage them")
        }
        switch direction {
        case .assign:
            // A person holds one licence of an app, from whichever location: asked first, so a
            // repeated batch spends nothing.
            if try ledger.holds(asset: asset.id, user: user.id) {
                return UserItemOutcome(userId: key, asset: item.asset, result: .alreadyAssigned)
            }
            guard var candidates = pools[asset.id], let index = policy.choose(from: candidates) else {
                return UserItemOutcome(userId: key, asset: item.asset, result: .noLicense, reason: "no usable token has a free licence of this app")
            }
            let token = candidates[index].tokenId
            guard try ledger.insertUserAssignment(asset: asset.id, user: user.id, token: token) else {
                return UserItemOutcome(userId: key, asset: item.asset, result: .alreadyAssigned)
            }
            candidates[index].available -= 1
            precondition(candidates[index].available >= 0, "a pool went below zero free licences")
            pools[asset.id] = candidates
            record(PoolKey(tokenId: token, assetId: asset.id), user: user.id, plan: &plan)
            return UserItemOutcome(userId: key, asset: item.asset, result: .assigned, tokenId: token)
        case .revoke:
            guard let token = try ledger.deleteUserAssignment(asset: asset.id, user: user.id) else {
                return UserItemOutcome(userId: key, asset: item.asset, result: .notAssigned)
            }
            record(PoolKey(tokenId: token, assetId: asset.id), user: user.id, plan: &plan)
            return UserItemOutcome(userId: key, asset: item.asset, result: .revoked, tokenId: token)
        }
    }

    private func record(_ pool: PoolKey, user: UserID, plan: inout UserBatchPlan) {
        plan.poolDeltas[pool, default: 0] += direction.poolDelta
        plan.appleUsers[pool, default: []].append(user)
        plan.changedCount += 1
    }
}

/// The user planner's ledger in memory: the model of the property tests.
public struct InMemoryUserLedger: UserAssignmentLedger, Sendable {
    public var users: [String: UserRef]
    public var assignments: [UserAssignmentKey: TokenID]

    public struct UserAssignmentKey: Hashable, Sendable {
        public let asset: AssetID
        public let user: UserID
        public init(asset: AssetID, user: UserID) {
            self.asset = asset
            self.user = user
        }
    }

    public init(users: [String: UserRef] = [:], assignments: [UserAssignmentKey: TokenID] = [:]) {
        self.users = users
        self.assignments = assignments
    }

    public mutating func user(key: String) -> UserRef? { users[key] }

    public mutating func insertUserAssignment(asset: AssetID, user: UserID, token: TokenID) -> Bool {
        let key = UserAssignmentKey(asset: asset, user: user)
        guard assignments[key] == nil else { return false }
        assignments[key] = token
        return true
    }

    public mutating func holds(asset: AssetID, user: UserID) -> Bool { assignments[UserAssignmentKey(asset: asset, user: user)] != nil }

    public mutating func deleteUserAssignment(asset: AssetID, user: UserID) -> TokenID? {
        assignments.removeValue(forKey: UserAssignmentKey(asset: asset, user: user))
    }
}

extension BatchFingerprint {
    /// The fingerprint of a user batch: never equal to a device batch's of the same key.
    public static func ofUsers(direction: BatchDirection, mode: BatchMode, queue: Bool, items: [UserItem]) -> String {
        of(direction: direction, mode: mode, queue: queue,
           items: items.map { BatchItem(asset: $0.asset, serial: "user\u{0}\($0.userId)") } + [BatchItem(asset: AssetKey(adamId: "0", pricingParam: .standard), serial: "users")])
    }
}

/// A user's status at one location, kept from Apple's answers and notifications.
public enum UserLocationStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Assigned a licence of this location; its creation at Apple is on its way (outbox).
    case registering
    /// Apple created the user here (an invitation may wait for them).
    case registered
    /// The person accepted the invitation: Apple associated their Apple Account.
    case associated
    /// Retired here; the retirement is on its way to Apple.
    case retiring
    /// Apple retired the user here.
    case retired
}
