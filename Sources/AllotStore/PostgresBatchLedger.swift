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
        for row in try PostgresHoldings.devices.read(database, tenant: tenant, holders: devices.values.map(\.id.rawValue),
                                                     assets: assets.values.map(\.id.rawValue)) {
            assignments[.init(asset: AssetID(row.asset), device: DeviceID(row.holder))] = TokenID(row.token)
        }
        before = assignments
        model = InMemoryAssignmentLedger(devices: devices, assignments: assignments)
    }

    /// Writes what the planner changed: the new rows in one INSERT, the removed ones in one
    /// DELETE, each checked to have changed exactly the rows decided.
    func write(batch: BatchID) throws {
        let inserted = model.assignments.compactMap { key, token in
            before[key] == nil ? PostgresHoldings.Row(asset: key.asset.rawValue, holder: key.device.rawValue, token: token.rawValue) : nil
        }
        let deleted = before.keys.filter { model.assignments[$0] == nil }.map { (asset: $0.asset.rawValue, holder: $0.device.rawValue) }
        try PostgresHoldings.devices.write(database, tenant: tenant, batch: batch, inserted: inserted, deleted: deleted)
    }
}
