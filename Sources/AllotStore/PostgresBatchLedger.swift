import AllotCore
import PostgresNIO

/// The planner's view of the ledger on PostgreSQL, set-based: a round trip per item (as SQLite
/// does it, in-process) would cost a network wait per item. The batch's devices and the
/// assignments it could touch are read in two queries, the planner decides on them in memory
/// (`InMemoryAssignmentLedger`, the same model the property tests check), and the rows it
/// changed are written in one statement. Exact because the batch runs with its tenant locked
/// (`lockTenant`): no other writer changes the tenant's assignments between read and write.
struct PostgresBatchLedger {
    var model: InMemoryAssignmentLedger
    private let before: [InMemoryAssignmentLedger.AssignmentKey: TokenID]
    private let database: PostgresLedgerDatabase
    private let tenant: TenantID

    init(database: PostgresLedgerDatabase, tenant: TenantID, items: [BatchItem], assets: [AssetKey: AssetRef]) throws {
        self.database = database
        self.tenant = tenant
        let serials = Array(Set(items.compactMap { SerialNumber($0.serial)?.value }))
        var devices: [SerialNumber: DeviceRef] = [:]
        var bindings = PostgresBindings()
        bindings.append(tenant.rawValue)
        bindings.append(serials)
        for row in try database.send("""
            SELECT serial, id, retired_at IS NOT NULL FROM devices WHERE tenant_id = $1 AND serial = ANY($2::text[])
            """, bindings, original: "SELECT … FROM devices WHERE serial = ANY(…)").rows {
            let reader = try PostgresRowReader(row)
            guard let serial = SerialNumber(reader.string(0)) else { throw StoredValueError(column: "devices.serial", value: reader.string(0)) }
            devices[serial] = DeviceRef(id: DeviceID(reader.int64(1)), retired: reader.bool(2))
        }
        var assignments: [InMemoryAssignmentLedger.AssignmentKey: TokenID] = [:]
        if !devices.isEmpty && !assets.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(devices.values.map(\.id.rawValue))
            bindings.append(assets.values.map(\.id.rawValue))
            for row in try database.send("""
                SELECT asset_id, device_id, token_id FROM assignments
                WHERE tenant_id = $1 AND device_id = ANY($2::bigint[]) AND asset_id = ANY($3::bigint[])
                """, bindings, original: "SELECT … FROM assignments WHERE device_id = ANY(…)").rows {
                let reader = try PostgresRowReader(row)
                assignments[.init(asset: AssetID(reader.int64(0)), device: DeviceID(reader.int64(1)))] = TokenID(reader.int64(2))
            }
        }
        before = assignments
        model = InMemoryAssignmentLedger(devices: devices, assignments: assignments)
    }

    /// Writes what the planner changed: the new rows in one INSERT, the removed ones in one
    /// DELETE, each checked to have changed exactly the rows decided.
    func write(batch: BatchID) throws {
        var inserted: [(key: InMemoryAssignmentLedger.AssignmentKey, token: TokenID)] = []
        for (key, token) in model.assignments where before[key] == nil { inserted.append((key, token)) }
        let deleted = before.keys.filter { model.assignments[$0] == nil }
        if !inserted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(inserted.map(\.key.asset.rawValue))
            bindings.append(inserted.map(\.key.device.rawValue))
            bindings.append(inserted.map(\.token.rawValue))
            bindings.append(batch.rawValue)
            let written = try database.send("""
                INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id)
                SELECT $1, asset_id, device_id, token_id, 0, $5 FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS item (asset_id, device_id, token_id)
                """, bindings, original: "INSERT INTO assignments … unnest(…)").metadata.rows ?? 0
            precondition(written == inserted.count, "a batch inserted \(written) assignment rows where it decided \(inserted.count)")
        }
        if !deleted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(deleted.map(\.asset.rawValue))
            bindings.append(deleted.map(\.device.rawValue))
            let removed = try database.send("""
                DELETE FROM assignments WHERE tenant_id = $1
                AND (asset_id, device_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[]))
                """, bindings, original: "DELETE FROM assignments … unnest(…)").metadata.rows ?? 0
            precondition(removed == deleted.count, "a batch deleted \(removed) assignment rows where it decided \(deleted.count)")
        }
    }
}
