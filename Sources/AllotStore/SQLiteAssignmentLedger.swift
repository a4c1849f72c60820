import AllotCore

/// The planner's view of the ledger, on cached prepared statements: the device lookup from the
/// tenant's table in the device cache (a statement when the tenant is too large to cache), plus
/// the insert or delete itself.
struct SQLiteAssignmentLedger: AssignmentLedger {
    let tenant: TenantID
    let batch: BatchID
    /// The tenant's devices as committed when the batch began; nil: look them up in SQL.
    let devices: DeviceCache.Table?
    let findDevice: Statement
    let insert: Statement
    let find: Statement
    let delete: Statement

    init(database: Database, tenant: TenantID, batch: BatchID, devices: DeviceCache.Table?) throws {
        self.tenant = tenant
        self.devices = devices
        self.batch = batch
        findDevice = try database.statement("SELECT id, retired_at IS NOT NULL FROM devices WHERE tenant_id = ? AND serial = ?")
        insert = try database.statement("""
            INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id) VALUES (?, ?, ?, ?, 0, ?)
            ON CONFLICT DO NOTHING
            """)
        find = try database.statement("SELECT 1 FROM assignments WHERE tenant_id = ? AND asset_id = ? AND device_id = ?")
        delete = try database.statement("DELETE FROM assignments WHERE tenant_id = ? AND asset_id = ? AND device_id = ? RETURNING token_id")
    }

    mutating func device(serial: SerialNumber) throws -> DeviceRef? {
        // A batch writes no devices, so the table stays exact for the whole batch.
        if let devices { return devices.device(serial.key) }
        defer { findDevice.reset() }
        findDevice.bind(1, tenant)
        findDevice.bind(2, serial.value)
        guard try findDevice.step() else { return nil }
        return DeviceRef(id: DeviceID(findDevice.int64(0)), retired: findDevice.bool(1))
    }

    mutating func insertAssignment(asset: AssetID, device: DeviceID, token: TokenID) throws -> Bool {
        insert.bind(1, tenant)
        insert.bind(2, asset)
        insert.bind(3, device)
        insert.bind(4, token)
        insert.bind(5, batch)
        return try insert.run() == 1
    }

    mutating func holds(asset: AssetID, device: DeviceID) throws -> Bool {
        defer { find.reset() }
        find.bind(1, tenant)
        find.bind(2, asset)
        find.bind(3, device)
        return try find.step()
    }

    mutating func deleteAssignment(asset: AssetID, device: DeviceID) throws -> TokenID? {
        defer { delete.reset() }
        delete.bind(1, tenant)
        delete.bind(2, asset)
        delete.bind(3, device)
        guard try delete.step() else { return nil }
        let token = TokenID(delete.int64(0))
        // Step to the end so the delete completes before the statement is reset.
        while try delete.step() {}
        return token
    }
}
