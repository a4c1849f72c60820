import AllotCore

/// What GET /metrics reads from the ledger on each scrape: counts over every tenant, no tenant
/// named. Each is one aggregate over an indexed table; a scrape every 15 s costs nothing.
public struct LedgerGauges: Sendable, Hashable {
    /// Outbox operations by state, every state present (0 when none).
    public var outboxByState: [OutboxState: Int]
    /// Tokens by state, every state present.
    public var tokensByState: [TokenState: Int]
    /// Seconds since the active token synced longest ago (never synced: since it was added);
    /// nil without active tokens.
    public var syncLagSeconds: Int64?
    /// Events not yet delivered, over every webhook.
    public var webhookBacklog: Int
}

extension Ledger {
    public func gauges() throws -> LedgerGauges {
        var outbox = Dictionary(uniqueKeysWithValues: OutboxState.allCases.map { ($0, 0) })
        for (text, count) in try database.query("SELECT state, COUNT(*) FROM outbox GROUP BY state", row: { ($0.string(0), $0.int(1)) }) {
            guard let state = OutboxState(rawValue: text) else { throw StoredValueError(column: "outbox.state", value: text) }
            outbox[state] = count
        }
        var tokens = Dictionary(uniqueKeysWithValues: TokenState.allCases.map { ($0, 0) })
        for (text, count) in try database.query("SELECT state, COUNT(*) FROM tokens GROUP BY state", row: { ($0.string(0), $0.int(1)) }) {
            guard let state = TokenState(rawValue: text) else { throw StoredValueError(column: "tokens.state", value: text) }
            tokens[state] = count
        }
        let oldestSync = try database.queryFirst("SELECT MIN(COALESCE(last_sync_at, created_at)) FROM tokens WHERE state = ?",
                                                 [.text(TokenState.active.rawValue)]) { $0.optionalInt64(0) } ?? nil
        return LedgerGauges(outboxByState: outbox, tokensByState: tokens, syncLagSeconds: oldestSync.map { max(0, now - $0) },
                            webhookBacklog: try webhookBacklog())
    }
}
