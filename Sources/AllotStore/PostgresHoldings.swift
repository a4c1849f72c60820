import AllotCore
import PostgresNIO

/// One table of who holds which asset through which token, as a set-based batch on PostgreSQL
/// reads and writes it: devices' `assignments` (holder `device_id`) and people's
/// `user_assignments` (holder `user_id`). Both batches (`PostgresBatchLedger`,
/// `PostgresUserBatchLedger`) read the rows they could touch in one query and write what their
/// planner changed in one statement each way; only the table and the holder's column differ.
struct PostgresHoldings {
    /// One row: an asset held by a holder (a device's or a person's id) through a token.
    struct Row {
        let asset: Int64, holder: Int64, token: Int64
    }

    let table: String
    let holderColumn: String

    static let devices = PostgresHoldings(table: "assignments", holderColumn: "device_id")
    static let users = PostgresHoldings(table: "user_assignments", holderColumn: "user_id")

    /// The tenant's rows of these holders and assets.
    func read(_ database: PostgresLedgerDatabase, tenant: TenantID, holders: [Int64], assets: [Int64]) throws -> [Row] {
        guard !holders.isEmpty && !assets.isEmpty else { return [] }
        var bindings = PostgresBindings()
        bindings.append(tenant.rawValue)
        bindings.append(holders)
        bindings.append(assets)
        return try database.send("""
            SELECT asset_id, \(holderColumn), token_id FROM \(table)
            WHERE tenant_id = $1 AND \(holderColumn) = ANY($2::bigint[]) AND asset_id = ANY($3::bigint[])
            """, bindings, original: "SELECT … FROM \(table) WHERE \(holderColumn) = ANY(…)").rows.map { row in
            let reader = try PostgresRowReader(row)
            return Row(asset: reader.int64(0), holder: reader.int64(1), token: reader.int64(2))
        }
    }

    /// Inserts `inserted` (new rows, unconfirmed, of `batch`) and deletes `deleted` (asset and
    /// holder), each in one statement checked to change exactly the rows decided.
    func write(_ database: PostgresLedgerDatabase, tenant: TenantID, batch: BatchID, inserted: [Row], deleted: [(asset: Int64, holder: Int64)]) throws {
        if !inserted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(inserted.map(\.asset))
            bindings.append(inserted.map(\.holder))
            bindings.append(inserted.map(\.token))
            bindings.append(batch.rawValue)
            let written = try database.send("""
                INSERT INTO \(table) (tenant_id, asset_id, \(holderColumn), token_id, status, batch_id)
                SELECT $1, asset_id, holder, token_id, 0, $5 FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS item (asset_id, holder, token_id)
                """, bindings, original: "INSERT INTO \(table) … unnest(…)").metadata.rows ?? 0
            precondition(written == inserted.count, "a batch inserted \(written) rows of \(table) where it decided \(inserted.count)")
        }
        if !deleted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(deleted.map(\.asset))
            bindings.append(deleted.map(\.holder))
            let removed = try database.send("""
                DELETE FROM \(table) WHERE tenant_id = $1
                AND (asset_id, \(holderColumn)) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[]))
                """, bindings, original: "DELETE FROM \(table) … unnest(…)").metadata.rows ?? 0
            precondition(removed == deleted.count, "a batch deleted \(removed) rows of \(table) where it decided \(deleted.count)")
        }
    }
}
