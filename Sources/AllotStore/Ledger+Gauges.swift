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
        let oldestSync = try database.queryFirst("SELECT MIN(COALESCE(last_sync_at, created_at)) FROM tokens WHERE state = ?",
                                                 [.text(TokenState.active.rawValue)]) { $0.optionalInt64(0) } ?? nil
        return LedgerGauges(outboxByState: try rowsByState(in: "outbox"), tokensByState: try rowsByState(in: "tokens"),
                            syncLagSeconds: oldestSync.map { max(0, now - $0) }, webhookBacklog: try webhookBacklog())
    }

    /// Rows of `table` by its `state` column, every state present; a state this allot does not
    /// know is a damaged file, never counted as some other state.
    private func rowsByState<State: RawRepresentable & CaseIterable & Hashable>(in table: String) throws -> [State: Int]
    where State.RawValue == String {
        var counts = Dictionary(uniqueKeysWithValues: State.allCases.map { ($0, 0) })
        for (text, count) in try database.query("SELECT state, COUNT(*) FROM \(table) GROUP BY state", row: { ($0.string(0), $0.int(1)) }) {
            guard let state = State(rawValue: text) else { throw StoredValueError(column: "\(table).state", value: text) }
            counts[state] = count
        }
        return counts
    }
}
