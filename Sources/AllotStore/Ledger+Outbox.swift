import AllotCore

/// One operation for Apple: an asset and its serials on one token, one Apple request once
/// split to the live limits.
public struct OutboxOperation: Sendable, Hashable {
    public enum Kind: String, Sendable { case associate, disassociate, revoke }
    public enum State: String, Sendable { case pending, sent, done, failed, paused }

    public let id: Int64
    public let tenantId: TenantID
    public let tokenId: TokenID
    public let kind: Kind
    public let asset: AssetKey
    public let serials: [String]
    public let state: State
    public let attempts: Int
    public let nextAttemptAt: Int64
    public let eventId: String?
    public let sentAt: Int64?
}

extension Ledger {
    private static let outboxColumns = "id, tenant_id, token_id, kind, assets, serials, state, attempts, next_attempt_at, event_id, sent_at"

    /// Operations due now (to send, or to poll), oldest first.
    public func dueOperations(tenant: TenantID?, limit: Int = 1_000) throws -> [OutboxOperation] {
        try database.query("""
            SELECT \(Self.outboxColumns) FROM outbox
            WHERE state IN ('pending', 'sent') AND next_attempt_at <= ?1 AND (?2 IS NULL OR tenant_id = ?2)
            ORDER BY id LIMIT ?3
            """, [.integer(now), SQLValue(tenant?.rawValue), .integer(Int64(limit))], row: Self.operation(from:))
    }

    /// Operations not yet finished (pending, sent or paused), for reports.
    public func unfinishedOperationCount(tenant: TenantID?) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent', 'paused') AND (?1 IS NULL OR tenant_id = ?1)",
                                [SQLValue(tenant?.rawValue)]) { $0.int(0) } ?? 0
    }

    public func operations(tenant: TenantID?) throws -> [OutboxOperation] {
        try database.query("SELECT \(Self.outboxColumns) FROM outbox WHERE (?1 IS NULL OR tenant_id = ?1) ORDER BY id",
                           [SQLValue(tenant?.rawValue)], row: Self.operation(from:))
    }

    /// Splits pending operations larger than Apple's limit into several, so each is one request.
    public func splitOversizedOperations(serialsMax: Int) throws {
        precondition(serialsMax > 0, "Apple's serial limit is positive")
        let oversized = try database.query("SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'pending' AND serial_count > ?",
                                           [.integer(Int64(serialsMax))], row: Self.operation(from:))
        guard !oversized.isEmpty else { return }
        try database.transaction {
            for operation in oversized {
                let batch = try database.queryFirst("SELECT batch_id FROM outbox WHERE id = ?", [.integer(operation.id)]) { $0.optionalInt64(0) } ?? nil
                for start in stride(from: 0, to: operation.serials.count, by: serialsMax) {
                    let chunk = operation.serials[start..<min(start + serialsMax, operation.serials.count)]
                    try database.run("""
                        INSERT INTO outbox (tenant_id, token_id, kind, assets, serials, serial_count, batch_id, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, [.integer(operation.tenantId.rawValue), .integer(operation.tokenId.rawValue), .text(operation.kind.rawValue),
                              .text(operation.asset.description), .text(chunk.joined(separator: "\n")), .integer(Int64(chunk.count)),
                              SQLValue(batch), .integer(now)])
                }
                try database.run("DELETE FROM outbox WHERE id = ?", [.integer(operation.id)])
            }
        }
    }

    /// Apple accepted the request: poll its event from `pollAt`.
    public func markSent(_ operation: Int64, eventId: String, pollAt: Int64) throws {
        try database.run("UPDATE outbox SET state = 'sent', event_id = ?, sent_at = ?, next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?",
                         [.text(eventId), .integer(now), .integer(pollAt), .integer(operation)])
    }

    /// Try again at `at`: resending when `resend`, else polling the same event.
    public func reschedule(_ operation: Int64, at: Int64, resend: Bool, error: String?, countsAsAttempt: Bool) throws {
        try database.run("""
            UPDATE outbox SET next_attempt_at = ?, last_error = coalesce(?, last_error),
                state = CASE WHEN ? THEN 'pending' ELSE state END,
                attempts = attempts + ?
            WHERE id = ?
            """, [.integer(at), SQLValue(error), .integer(resend ? 1 : 0), .integer(countsAsAttempt ? 1 : 0), .integer(operation)])
    }

    /// Gives up on an operation (Apple refused the request itself); recorded loudly.
    public func failOperation(_ operation: OutboxOperation, error: String) throws {
        try database.transaction {
            try database.run("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?", [.text(error), .integer(operation.id)])
            try recordEvent(tenant: operation.tenantId, kind: "apple_operation_failed", token: operation.tokenId,
                            detail: ["operation": String(operation.id), "kind": operation.kind.rawValue, "error": error])
        }
    }

    /// Apple finished the event. Associations that succeeded become confirmed; those Apple
    /// refused for want of licences (9709) are released here, since Apple never granted them.
    /// Returns the serials released.
    @discardableResult
    public func completeOperation(_ operation: OutboxOperation, refusedSerials: Set<String>, refusal: String?) throws -> [String] {
        try database.transaction {
            try database.run("UPDATE outbox SET state = 'done', last_error = ? WHERE id = ?", [SQLValue(refusal), .integer(operation.id)])
            guard operation.kind == .associate,
                  let asset = try resolveAssets(tenant: operation.tenantId, [operation.asset])[operation.asset] else { return [] }
            let confirm = try database.statement("""
                UPDATE assignments SET status = 1 WHERE tenant_id = ?1 AND asset_id = ?2 AND token_id = ?3
                AND device_id = (SELECT id FROM devices WHERE tenant_id = ?1 AND serial = ?4)
                """)
            let release = try database.statement("""
                DELETE FROM assignments WHERE tenant_id = ?1 AND asset_id = ?2 AND token_id = ?3
                AND device_id = (SELECT id FROM devices WHERE tenant_id = ?1 AND serial = ?4)
                """)
            var released: [String] = []
            for serial in operation.serials {
                let statement = refusedSerials.contains(serial) ? release : confirm
                statement.bind(1, operation.tenantId)
                statement.bind(2, asset.id)
                statement.bind(3, operation.tokenId)
                statement.bind(4, serial)
                if try statement.run() == 1 && statement === release { released.append(serial) }
            }
            if !released.isEmpty {
                try database.run("UPDATE pool SET assigned_here = assigned_here - ? WHERE token_id = ? AND asset_id = ?",
                                 [.integer(Int64(released.count)), .integer(operation.tokenId.rawValue), .integer(asset.id.rawValue)])
                try recordEvent(tenant: operation.tenantId, kind: "licences_released", token: operation.tokenId,
                                detail: ReleasedDetail(asset: operation.asset.description, serials: released, reason: refusal ?? "refused by Apple"))
            }
            return released
        }
    }

    /// Ends every unfinished operation of a token that can never deliver them.
    public func failOperations(token: TokenID, error: String) throws {
        try database.run("UPDATE outbox SET state = 'failed', last_error = ? WHERE token_id = ? AND state IN ('pending', 'sent', 'paused')",
                         [.text(error), .integer(token.rawValue)])
    }

    /// Stops delivering a token's operations (dead or claimed elsewhere) until it is renewed or taken over.
    public func pauseOperations(token: TokenID) throws {
        try database.run("UPDATE outbox SET state = 'paused' WHERE token_id = ? AND state IN ('pending', 'sent')", [.integer(token.rawValue)])
    }

    /// Resumes a token's paused operations: they are sent again (re-sending is harmless).
    public func resumeOperations(token: TokenID) throws {
        try database.run("UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE token_id = ? AND state = 'paused'", [.integer(token.rawValue)])
    }

    /// Queues operations for Apple that no batch decided (take-over clean-up): per asset, the
    /// serials Apple lists for this token that this ledger did not assign.
    public func enqueueCleanUp(tenant: TenantID, token: TokenID, _ serialsByAsset: [AssetKey: [SerialNumber]]) throws -> Int {
        try database.transaction {
            let assets = try resolveAssets(tenant: tenant, Set(serialsByAsset.keys))
            var bySerials: [PoolKey: [SerialNumber]] = [:]
            for (key, serials) in serialsByAsset {
                guard let asset = assets[key] else { continue }
                bySerials[PoolKey(tokenId: token, assetId: asset.id)] = serials
            }
            try enqueueForApple(tenant: tenant, batch: nil, kind: "disassociate", bySerials)
            return bySerials.values.reduce(0) { $0 + $1.count }
        }
    }

    /// Serials of this token's assignments per asset, as the ledger holds them.
    public func assignedSerials(tenant: TenantID, token: TokenID) throws -> [AssetKey: Set<String>] {
        var result: [AssetKey: Set<String>] = [:]
        for (key, serial) in try database.query("""
            SELECT a.adam_id, a.pricing_param, d.serial FROM assignments s
            JOIN assets a ON a.id = s.asset_id JOIN devices d ON d.id = s.device_id
            WHERE s.tenant_id = ? AND s.token_id = ?
            """, [.integer(tenant.rawValue), .integer(token.rawValue)], row: { row in
                (AssetKey(adamId: row.string(0), pricingParam: PricingParam(rawValue: row.string(1)) ?? .standard), row.string(2))
            }) {
            result[key, default: []].insert(serial)
        }
        return result
    }

    static func operation(from row: Statement) -> OutboxOperation {
        let serialsText = row.string(5)
        return OutboxOperation(
            id: row.int64(0), tenantId: TenantID(row.int64(1)), tokenId: TokenID(row.int64(2)),
            kind: OutboxOperation.Kind(rawValue: row.string(3)) ?? .associate,
            asset: AssetKey(parsing: row.string(4)) ?? AssetKey(adamId: "0"),
            serials: serialsText.isEmpty ? [] : serialsText.split(separator: "\n").map(String.init),
            state: OutboxOperation.State(rawValue: row.string(6)) ?? .pending, attempts: row.int(7),
            nextAttemptAt: row.int64(8), eventId: row.optionalString(9), sentAt: row.optionalInt64(10))
    }
}

private struct ReleasedDetail: Encodable {
    let asset: String
    let serials: [String]
    let reason: String
}
