import AllotCore

/// A tenant's webhook as stored: where it posts and how far it has come through the events.
public struct WebhookRecord: Sendable, Hashable {
    public let id: Int64
    public let tenantId: TenantID
    public let url: String
    public let createdAt: Int64
    /// Every event of the tenant up to this id has been delivered or given up.
    public let deliveredThroughEventId: Int64
    /// Failed tries of the next event, and when it goes again.
    public let failedAttempts: Int
    public let nextAttemptAt: Int64
    /// Why the last try failed (a status or a connection error), never a secret.
    public let lastError: String?
    /// Events recorded after the cursor: what the receiver has still to get.
    public let pendingEvents: Int
}

/// A webhook claimed for one try: its next event, and the sealed secret to sign it with.
public struct WebhookClaim: Sendable, Hashable {
    public let webhookId: Int64
    public let tenantId: TenantID
    public let url: String
    public let sealedSecret: [UInt8]
    public let failedAttempts: Int
    public let event: Event
}

extension Ledger {
    /// Webhooks one tenant may have: a bound on the posts one event makes.
    public static let webhooksPerTenantMax = 16

    /// Registers a webhook that receives the tenant's events from now on (the events already
    /// recorded are history, not news: the cursor starts at the newest).
    public func addWebhook(tenant: TenantID, url: WebhookURL, sealedSecret: [UInt8]) throws -> WebhookRecord {
        try database.transaction {
            let count = try database.queryFirst("SELECT COUNT(*) FROM webhooks WHERE tenant_id = ?", [.integer(tenant.rawValue)]) { $0.int(0) } ?? 0
            guard count < Self.webhooksPerTenantMax else {
                throw AllotError.conflict("the tenant has \(Self.webhooksPerTenantMax) webhooks, the most it may have; remove one first")
            }
            let exists = try database.queryFirst("SELECT id FROM webhooks WHERE tenant_id = ? AND url = ?",
                                                 [.integer(tenant.rawValue), .text(url.text)]) { $0.int64(0) }
            if let exists {
                throw AllotError.conflict("webhook \(exists) already posts to that URL; remove it first to get a new secret")
            }
            let newest = try database.queryFirst("SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?",
                                                 [.integer(tenant.rawValue)]) { $0.int64(0) } ?? 0
            try database.run("""
                INSERT INTO webhooks (tenant_id, url, secret, created_at, delivered_through_event_id, failed_attempts, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, 0, ?)
                """, [.integer(tenant.rawValue), .text(url.text), .blob(sealedSecret), .integer(now), .integer(newest), .integer(now)])
            let id = try database.lastInsertRowID
            // Recorded after the cursor was read: the receiver's first event says it was added.
            try recordEvent(tenant: tenant, kind: .webhookAdded, detail: WebhookDetail(webhookId: id, url: url.text))
            return try requireWebhook(tenant: tenant, id: id)
        }
    }

    /// Removes the webhook; its undelivered events stay in the log.
    public func removeWebhook(tenant: TenantID, id: Int64) throws -> WebhookRecord {
        try database.transaction {
            let webhook = try requireWebhook(tenant: tenant, id: id)
            try database.run("DELETE FROM webhooks WHERE id = ? AND tenant_id = ?", [.integer(id), .integer(tenant.rawValue)])
            try recordEvent(tenant: tenant, kind: .webhookRemoved, detail: WebhookDetail(webhookId: id, url: webhook.url))
            return webhook
        }
    }

    public func webhooks(tenant: TenantID) throws -> [WebhookRecord] {
        try database.query(Self.webhookSelect + " WHERE w.tenant_id = ? ORDER BY w.id", [.integer(tenant.rawValue)], row: Self.webhook(from:))
    }

    func requireWebhook(tenant: TenantID, id: Int64) throws -> WebhookRecord {
        guard let webhook = try database.queryFirst(Self.webhookSelect + " WHERE w.tenant_id = ? AND w.id = ?",
                                                    [.integer(tenant.rawValue), .integer(id)], row: Self.webhook(from:)) else {
            throw AllotError.notFound("the tenant has no webhook \(id); list them to see their ids")
        }
        return webhook
    }

    /// Claims up to `limit` webhooks whose next event is due, for `leaseSeconds`, each with
    /// that event. One claim per webhook at a time: its events go out one after another.
    public func claimDueWebhooks(owner: String, leaseSeconds: Int64, limit: Int) throws -> [WebhookClaim] {
        precondition(limit > 0, "a claim asks for at least one webhook")
        precondition(leaseSeconds > 0, "a lease lasts some time")
        let now = self.now
        return try database.transaction {
            let due = try database.query("""
                SELECT w.id, w.tenant_id, w.url, w.secret, w.failed_attempts, e.id, e.at, e.kind, e.token_id, e.detail
                FROM webhooks w
                JOIN events e ON e.id = (SELECT MIN(n.id) FROM events n WHERE n.tenant_id = w.tenant_id AND n.id > w.delivered_through_event_id)
                WHERE w.next_attempt_at <= ?1 AND (w.lease_expires_at IS NULL OR w.lease_expires_at <= ?1)
                ORDER BY w.next_attempt_at, w.id LIMIT ?2
                """, [.integer(now), .integer(Int64(limit))]) { row in
                guard let secret = row.blob(3), !secret.isEmpty else { throw StoredValueError(column: "webhooks.secret", value: "empty") }
                return WebhookClaim(webhookId: row.int64(0), tenantId: TenantID(row.int64(1)), url: row.string(2), sealedSecret: secret,
                                    failedAttempts: row.int(4),
                                    event: Event(id: row.int64(5), at: row.int64(6), kind: row.string(7),
                                                 tokenId: row.optionalInt64(8).map(TokenID.init), detail: row.string(9)))
            }
            // Conditional, so that on a database shared by several servers (PostgreSQL) a webhook
            // another one claimed since the SELECT is left to it: only the rows changed are ours.
            return try due.filter { claim in
                try database.run("UPDATE webhooks SET lease_owner = ?, lease_expires_at = ? WHERE id = ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)",
                                 [.text(owner), .integer(now + leaseSeconds), .integer(claim.webhookId), .integer(now)]) == 1
            }
        }
    }

    /// Moves the webhook's cursor as `step` says after a try of `claim`'s event. A webhook
    /// removed meanwhile, or already moved past the event by another sender, is left alone.
    public func finishWebhookTry(_ claim: WebhookClaim, step: WebhookRetryPolicy.Step, error: String?) throws {
        let tenant = claim.tenantId
        try database.transaction {
            let current = try database.queryFirst("SELECT delivered_through_event_id FROM webhooks WHERE id = ? AND tenant_id = ?",
                                                  [.integer(claim.webhookId), .integer(tenant.rawValue)]) { $0.int64(0) }
            guard let current, current < claim.event.id else { return }
            switch step {
            case .advance:
                try moveCursor(claim.webhookId, to: claim.event.id)
            case .retry(let at, let attempts):
                try database.run("""
                    UPDATE webhooks SET failed_attempts = ?, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ?
                    """, [.integer(Int64(attempts)), .integer(at), SQLValue(error), .integer(claim.webhookId)])
            case .giveUp(let closedBefore):
                // Up to the first event still inside its window (or every event, if none is).
                let fresh = try database.queryFirst("SELECT MIN(id) FROM events WHERE tenant_id = ? AND id > ? AND at > ?",
                                                    [.integer(tenant.rawValue), .integer(claim.event.id), .integer(closedBefore)]) { $0.optionalInt64(0) } ?? nil
                let newest = try database.queryFirst("SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?",
                                                     [.integer(tenant.rawValue)]) { $0.int64(0) } ?? 0
                let through = fresh.map { $0 - 1 } ?? newest
                precondition(through >= claim.event.id, "a give-up moves past the event it gave up")
                let count = try database.queryFirst("SELECT COUNT(*) FROM events WHERE tenant_id = ? AND id > ? AND id <= ?",
                                                    [.integer(tenant.rawValue), .integer(current), .integer(through)]) { $0.int(0) } ?? 0
                try moveCursor(claim.webhookId, to: through)
                try recordEvent(tenant: tenant, kind: .webhookGaveUp,
                                detail: WebhookGiveUpDetail(webhookId: claim.webhookId, fromEventId: claim.event.id, throughEventId: through,
                                                            events: count, lastError: error))
            }
        }
    }

    /// Gives back the claims of `owner` (a sender stopping), so its webhooks go on at once.
    public func releaseWebhookLeases(owner: String) throws {
        try database.run("UPDATE webhooks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?", [.text(owner)])
    }

    /// Events recorded after the cursors of every tenant's webhooks (the `allot_webhook_backlog_events` gauge).
    public func webhookBacklog() throws -> Int {
        try database.queryFirst("""
            SELECT COUNT(*) FROM webhooks w JOIN events e ON e.tenant_id = w.tenant_id AND e.id > w.delivered_through_event_id
            """) { $0.int(0) } ?? 0
    }

    private func moveCursor(_ webhook: Int64, to eventId: Int64) throws {
        try database.run("""
            UPDATE webhooks SET delivered_through_event_id = ?, failed_attempts = 0, next_attempt_at = ?, last_error = NULL,
                                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ?
            """, [.integer(eventId), .integer(now), .integer(webhook)])
    }

    private static let webhookSelect = """
        SELECT w.id, w.tenant_id, w.url, w.created_at, w.delivered_through_event_id, w.failed_attempts, w.next_attempt_at, w.last_error,
               (SELECT COUNT(*) FROM events e WHERE e.tenant_id = w.tenant_id AND e.id > w.delivered_through_event_id)
        FROM webhooks w
        """

    private static func webhook(from row: any SQLRow) throws -> WebhookRecord {
        WebhookRecord(id: row.int64(0), tenantId: TenantID(row.int64(1)), url: row.string(2), createdAt: row.int64(3),
                      deliveredThroughEventId: row.int64(4), failedAttempts: row.int(5), nextAttemptAt: row.int64(6),
                      lastError: row.optionalString(7), pendingEvents: row.int(8))
    }
}

/// The detail of `webhook_added` and `webhook_removed`.
struct WebhookDetail: Encodable {
    let webhookId: Int64
    let url: String
}

/// The detail of `webhook_gave_up`: the events a receiver did not get within their window.
struct WebhookGiveUpDetail: Encodable {
    let webhookId: Int64
    let fromEventId: Int64
    let throughEventId: Int64
    let events: Int
    let lastError: String?
}
