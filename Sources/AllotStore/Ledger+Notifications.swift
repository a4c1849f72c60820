import AllotCore

/// A token's notification receiver as stored.
public struct NotificationReceiverRecord: Sendable, Hashable {
    public let token: TokenID
    /// The bearer Apple sends back, encrypted with the engine's key.
    public let sealedAuthToken: [UInt8]
    public let url: String
    /// When Apple accepted it; nil while it is being configured.
    public let configuredAt: Int64?
}

/// One of Apple's notifications, queued for work after the receiver answered.
public struct QueuedNotification: Sendable, Hashable {
    public let notificationId: String
    public let token: TokenID
    public let kind: String
    public let body: String
}

extension Ledger {
    // MARK: Receivers (issue 12, point 2)

    /// Stores a token's new receiver before Apple is told of it: Apple's TEST_NOTIFICATION
    /// arrives while the configuration call is still in flight, and must find its bearer here.
    public func setNotificationReceiver(token: TokenID, sealedAuthToken: [UInt8], url: String) throws {
        try database.run("""
            INSERT INTO token_notifications (token_id, auth_token, url, configured_at) VALUES (?1, ?2, ?3, NULL)
            ON CONFLICT (token_id) DO UPDATE SET auth_token = ?2, url = ?3, configured_at = NULL
            """, [.integer(token.rawValue), .blob(sealedAuthToken), .text(url)])
    }

    /// Apple accepted the receiver.
    public func markNotificationsConfigured(tenant: TenantID, token: TokenID, url: String) throws {
        try database.transaction {
            try database.run("UPDATE token_notifications SET configured_at = ? WHERE token_id = ?", [.integer(now), .integer(token.rawValue)])
            try recordEvent(tenant: tenant, kind: .notificationsConfigured, token: token, detail: ["url": url])
        }
    }

    public func notificationReceiver(token: TokenID) throws -> NotificationReceiverRecord? {
        try database.queryFirst("SELECT token_id, auth_token, url, configured_at FROM token_notifications WHERE token_id = ?",
                                [.integer(token.rawValue)]) { row in
            guard let sealed = row.blob(1) else { throw StoredValueError(column: "token_notifications.auth_token", value: "NULL") }
            return NotificationReceiverRecord(token: TokenID(row.int64(0)), sealedAuthToken: sealed, url: row.string(2),
                                              configuredAt: row.optionalInt64(3))
        }
    }

    /// Active tokens whose receiver at Apple is not `url(token)` yet, or was never accepted.
    public func tokensNeedingReceiver(url: (TokenID) -> String) throws -> [TokenRecord] {
        let configured = Dictionary(uniqueKeysWithValues: try database.query(
            "SELECT token_id, url FROM token_notifications WHERE configured_at IS NOT NULL") { (TokenID($0.int64(0)), $0.string(1)) })
        return try allTokens().filter { $0.state == .active && configured[$0.id] != url($0.id) }
    }

    // MARK: Received notifications

    /// Bodies larger than this are refused: Apple sends at most 100 elements a notification.
    public static let notificationBodyBytesMax = 256 * 1024
    /// Notifications remembered for dropping duplicates, as long as events are kept.
    public static var notificationRetentionSeconds: Int64 { eventRetentionDays * 86_400 }

    /// Queues a notification unless its `notificationId` was seen before: true when queued,
    /// false for a duplicate (which changes nothing).
    public func queueNotification(id: String, token: TokenID, kind: String, body: String) throws -> Bool {
        try database.run("""
            INSERT INTO apple_notifications (notification_id, token_id, kind, body, received_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (notification_id) DO NOTHING
            """, [.text(id), .integer(token.rawValue), .text(kind), .text(body), .integer(now)]) == 1
    }

    /// The oldest notifications not yet worked on, at most `limit`.
    public func queuedNotifications(limit: Int) throws -> [QueuedNotification] {
        try database.query("""
            SELECT notification_id, token_id, kind, body FROM apple_notifications WHERE processed_at IS NULL
            ORDER BY received_at, notification_id LIMIT ?
            """, [.integer(Int64(limit))]) {
            QueuedNotification(notificationId: $0.string(0), token: TokenID($0.int64(1)), kind: $0.string(2), body: $0.string(3))
        }
    }

    /// Marks a notification done (its body is dropped; its id stays to drop duplicates).
    /// False when another worker took it first.
    public func markNotificationProcessed(_ id: String) throws -> Bool {
        try database.run("UPDATE apple_notifications SET processed_at = ?, body = '' WHERE notification_id = ? AND processed_at IS NULL",
                         [.integer(now), .text(id)]) == 1
    }

    /// Forgets notifications older than the retention period.
    @discardableResult
    public func purgeNotifications() throws -> Int {
        try database.run("DELETE FROM apple_notifications WHERE processed_at IS NOT NULL AND received_at < ?",
                         [.integer(now - Self.notificationRetentionSeconds)])
    }

    /// Apple's ASSET_COUNT: moves a pool's total by `delta` (never below zero) at once, with an
    /// event. False when the token has no pool of that asset yet (a new purchase: a sync adds it).
    public func movePoolTotal(tenant: TenantID, token: TokenID, asset: AssetKey, delta: Int) throws -> Bool {
        // A change no pool can hold is the caller's to refuse; here it would overflow the sum.
        guard PoolLimits.isPossible(countDelta: delta) else { return false }
        return try database.transaction {
            // A total that would leave 0...PoolLimits.totalMax is not clamped: the ledger and
            // Apple disagree, and only a sync tells which is right (false: the caller syncs).
            let moved = try database.run("""
                UPDATE pool SET total = total + ?1
                WHERE token_id = ?2 AND asset_id = (SELECT id FROM assets WHERE tenant_id = ?3 AND adam_id = ?4 AND pricing_param = ?5)
                  AND total + ?1 >= 0 AND total + ?1 <= ?6
                """, [.integer(Int64(delta)), .integer(token.rawValue), .integer(tenant.rawValue), .text(asset.adamId),
                      .text(asset.pricingParam.rawValue), .integer(Int64(PoolLimits.totalMax))])
            guard moved == 1 else { return false }
            try recordEvent(tenant: tenant, kind: .appleCountChanged, token: token,
                            detail: AppleCountDetail(adamId: asset.adamId, pricingParam: asset.pricingParam.rawValue, countDelta: delta))
            return true
        }
    }
}

/// The detail of an `apple_count_changed` event.
public struct AppleCountDetail: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    public let countDelta: Int
}
