import AllotCore
import Foundation

extension Ledger {
    /// Records one event: per batch and per state change, never per item.
    public func recordEvent(tenant: TenantID, kind: EventKind, token: TokenID? = nil, detail: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(detail), as: UTF8.self)
        try database.run("INSERT INTO events (tenant_id, at, kind, token_id, detail) VALUES (?, ?, ?, ?, ?)",
                         [.integer(tenant.rawValue), .integer(now), .text(kind.rawValue), SQLValue(token?.rawValue), .text(json)])
    }

    /// The newest events first; with `since`, only those at or after it (seconds since 1970).
    public func events(tenant: TenantID, limit: Int = 50, kind: String? = nil, since: Int64? = nil) throws -> [Event] {
        let limit = max(1, min(limit, 10_000))
        let filter = Self.eventFilter(tenant: tenant, kind: kind, since: since)
        return try database.query("""
            SELECT id, at, kind, token_id, detail FROM events
            WHERE \(filter.sql) ORDER BY id DESC LIMIT ?\(filter.values.count + 1)
            """, filter.values + [.integer(Int64(limit))]) { row in
            Event(id: row.int64(0), at: row.int64(1), kind: row.string(2),
                  tokenId: row.optionalInt64(3).map(TokenID.init), detail: row.string(4))
        }
    }

    /// How many events `events` would find without its limit: a listing that is cut says how
    /// many it left out.
    public func eventCount(tenant: TenantID, kind: String? = nil, since: Int64? = nil) throws -> Int {
        let filter = Self.eventFilter(tenant: tenant, kind: kind, since: since)
        return try database.queryFirst("SELECT COUNT(*) FROM events WHERE \(filter.sql)", filter.values) { $0.int(0) } ?? 0
    }

    /// The condition of a listing of events, the same for the rows and their count.
    private static func eventFilter(tenant: TenantID, kind: String?, since: Int64?) -> (sql: String, values: [SQLValue]) {
        // A kind's other names (`EventKind.filterNames`), or the kind alone.
        let names = kind.map(EventKind.filterNames) ?? []
        let kinds = names.isEmpty ? "" : " AND kind IN (" + names.indices.map { "?\($0 + 3)" }.joined(separator: ", ") + ")"
        return ("tenant_id = ?1 AND (at >= ?2 OR ?2 IS NULL)\(kinds)", [.integer(tenant.rawValue), SQLValue(since)] + names.map { .text($0) })
    }

    /// Drops events older than the retention period; how many.
    @discardableResult
    public func purgeEvents() throws -> Int {
        try database.run("DELETE FROM events WHERE at < ?", [.integer(now - Self.eventRetentionDays * 86_400)])
    }
}
