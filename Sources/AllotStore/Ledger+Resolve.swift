import AllotCore

/// The rows over-allocation resolution reads and moves; what to move is `ExcessChoice`'s, and
/// the order of the steps the engine's (`Workflows.resolveOverAllocation`).
extension Ledger {
    /// The devices holding an app through one token, with what `ExcessChoice` weighs.
    public func excessHolders(tenant: TenantID, token: TokenID, asset: AssetID) throws -> [ExcessHolder] {
        try database.query("""
            SELECT a.device_id, d.serial, d.grp, a.batch_id FROM assignments a
            JOIN devices d ON d.tenant_id = a.tenant_id AND d.id = a.device_id
            WHERE a.tenant_id = ? AND a.token_id = ? AND a.asset_id = ?
            """, [.integer(tenant.rawValue), .integer(token.rawValue), .integer(asset.rawValue)]) { row in
            ExcessHolder(device: DeviceID(row.int64(0)), serial: row.string(1), group: row.optionalString(2), batch: BatchID(row.int64(3)))
        }
    }

    /// Moves a device's licence of an app from one token to another, pending until Apple
    /// confirms it on its new token; false when the device no longer holds it through `from`.
    public func moveAssignment(tenant: TenantID, asset: AssetID, device: DeviceID, from: TokenID, to: TokenID) throws -> Bool {
        try database.run("""
            UPDATE assignments SET token_id = ?, status = 0 WHERE tenant_id = ? AND asset_id = ? AND device_id = ? AND token_id = ?
            """, [.integer(to.rawValue), .integer(tenant.rawValue), .integer(asset.rawValue), .integer(device.rawValue), .integer(from.rawValue)]) == 1
    }

    /// The batch that carries an assignment to Apple: the outbox confirms a row by it.
    public func setAssignmentBatch(tenant: TenantID, asset: AssetID, device: DeviceID, token: TokenID, batch: BatchID) throws {
        try database.run("UPDATE assignments SET batch_id = ? WHERE tenant_id = ? AND asset_id = ? AND device_id = ? AND token_id = ?",
                         [.integer(batch.rawValue), .integer(tenant.rawValue), .integer(asset.rawValue),
                          .integer(device.rawValue), .integer(token.rawValue)])
    }
}
