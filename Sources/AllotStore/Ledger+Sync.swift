import AllotCore

/// What a drift repair did.
public struct DriftRepair: Sendable, Hashable, Codable {
    /// Licences queued again for Apple (associate), which Apple lacked.
    public var resent = 0
    /// Licences Apple holds that are now recorded in the ledger.
    public var recorded = 0
    /// Licences Apple holds on devices this tenant retired: queued for disassociation instead.
    public var givenBack = 0
    /// Licences Apple holds that cannot be recorded (the device holds the app through another
    /// token of the tenant, or its serial is not a valid one): reported again by the next sync.
    public var left = 0
    public init() {}
}

extension Ledger {
    // MARK: Apple's expiry date

    /// Apple's `tokenExpirationDate` wins over the file's date: the file can be stale.
    public func setTokenExpiry(tenant: TenantID, token: TokenID, expiresAt: Int64) throws {
        try database.transaction {
            guard let before = try database.queryFirst("SELECT expires_at FROM tokens WHERE id = ? AND tenant_id = ?",
                                                       [.integer(token.rawValue), .integer(tenant.rawValue)], row: { $0.int64(0) }) else {
                throw AllotError.notFound("token \(token) is not this tenant's")
            }
            guard before != expiresAt else { return }
            try database.run("UPDATE tokens SET expires_at = ? WHERE id = ?", [.integer(expiresAt), .integer(token.rawValue)])
            try recordEvent(tenant: tenant, kind: .tokenExpiryFromApple, token: token, detail: ["from": before, "to": expiresAt])
        }
    }

    // MARK: sinceVersionId

    /// The versionId of the token's assignments when Apple and the ledger last agreed.
    public func agreedAssignmentsVersion(token: TokenID) throws -> String? {
        try database.queryFirst("SELECT assignments_version_id FROM token_sync WHERE token_id = ?", [.integer(token.rawValue)]) { $0.string(0) }
    }

    public func rememberAgreedAssignmentsVersion(token: TokenID, _ versionId: String?) throws {
        guard let versionId, !versionId.isEmpty else {
            try database.run("DELETE FROM token_sync WHERE token_id = ?", [.integer(token.rawValue)])
            return
        }
        try database.run("""
            INSERT INTO token_sync (token_id, assignments_version_id, agreed_at) VALUES (?1, ?2, ?3)
            ON CONFLICT (token_id) DO UPDATE SET assignments_version_id = ?2, agreed_at = ?3
            """, [.integer(token.rawValue), .text(versionId), .integer(now)])
    }

    // MARK: The reconcile setting

    public func reconcileRepairs(tenant: TenantID) throws -> Bool {
        guard let repairs = try database.queryFirst("SELECT reconcile_repairs FROM tenants WHERE id = ?", [.integer(tenant.rawValue)],
                                                    row: { $0.bool(0) }) else {
            throw AllotError.notFound("tenant \(tenant) does not exist")
        }
        return repairs
    }

    public func setReconcileRepairs(tenant: TenantID, _ repairs: Bool) throws {
        try database.transaction {
            try database.run("UPDATE tenants SET reconcile_repairs = ? WHERE id = ?", [.integer(repairs ? 1 : 0), .integer(tenant.rawValue)])
            try recordEvent(tenant: tenant, kind: .reconcileSettingChanged, detail: ["repairs": repairs])
        }
    }

    // MARK: Drift

    /// The token's licences as the ledger holds them (pending or confirmed).
    public func heldLicences(tenant: TenantID, token: TokenID) throws -> Set<HeldLicence> {
        Set(try database.query("""
            SELECT a.adam_id, a.pricing_param, d.serial FROM assignments s
            JOIN assets a ON a.id = s.asset_id JOIN devices d ON d.id = s.device_id
            WHERE s.tenant_id = ? AND s.token_id = ?
            """, [.integer(tenant.rawValue), .integer(token.rawValue)]) { row in
            HeldLicence(asset: try Self.storedAssetKey(adamId: row.string(0), pricingParam: row.string(1)), serial: row.string(2))
        })
    }

    /// The licences an unfinished operation of the token is still carrying to Apple.
    public func licencesInFlight(token: TokenID) throws -> Set<HeldLicence> {
        var licences = Set<HeldLicence>()
        for (assets, serials) in try database.query(
            "SELECT assets, \(Self.serialsColumn) FROM outbox WHERE token_id = ? AND state IN \(OutboxState.unfinishedSQL)",
            [.integer(token.rawValue)], row: { ($0.string(0), $0.string(1)) }) {
            let serialList = Self.lines(of: serials)
            for text in assets.split(separator: "\n") {
                guard let asset = AssetKey(parsing: String(text)) else {
                    throw StoredValueError(column: "outbox.assets", value: String(text))
                }
                for serial in serialList { licences.insert(HeldLicence(asset: asset, serial: serial)) }
            }
        }
        return licences
    }

    // MARK: Rows of a drift repair (`Workflows.repairDrift`), inside the caller's write

    public func isToken(_ token: TokenID, of tenant: TenantID) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM tokens WHERE id = ? AND tenant_id = ?",
                                [.integer(token.rawValue), .integer(tenant.rawValue)], row: { _ in true }) == true
    }

    /// A device's licence through `token` is pending again, until Apple confirms it anew.
    public func markPending(tenant: TenantID, asset: AssetID, token: TokenID, serial: String) throws {
        try database.run("""
            UPDATE assignments SET status = 0 WHERE tenant_id = ? AND asset_id = ? AND token_id = ?
            AND device_id = (SELECT id FROM devices WHERE tenant_id = ? AND serial = ?)
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(token.rawValue), .integer(tenant.rawValue), .text(serial)])
    }

    /// The device with this serial, registered first if the ledger does not know it, and
    /// whether it is retired.
    public func deviceRegisteringIfUnknown(tenant: TenantID, serial: String) throws -> (id: DeviceID, retired: Bool) {
        try database.run("INSERT INTO devices (tenant_id, serial) VALUES (?, ?) ON CONFLICT (tenant_id, serial) DO NOTHING",
                         [.integer(tenant.rawValue), .text(serial)])
        guard let device = try database.queryFirst("SELECT id, retired_at IS NOT NULL FROM devices WHERE tenant_id = ? AND serial = ?",
                                                   [.integer(tenant.rawValue), .text(serial)], row: { (DeviceID($0.int64(0)), $0.bool(1)) }) else {
            preconditionFailure("a device row inserted or found a statement ago exists")
        }
        return device
    }

    /// Records a licence Apple holds as a confirmed assignment; false when the device holds the
    /// app already (through any token: invariant 2).
    public func insertConfirmedAssignment(tenant: TenantID, asset: AssetID, device: DeviceID, token: TokenID, batch: BatchID) throws -> Bool {
        try database.run("""
            INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id) VALUES (?, ?, ?, ?, 1, ?)
            ON CONFLICT DO NOTHING
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(device.rawValue), .integer(token.rawValue),
                  .integer(batch.rawValue)]) == 1
    }

    /// Licences Apple counted as in use and the ledger now records: they move from "elsewhere"
    /// to "here" on the pool's counters.
    public func countAsHere(_ pool: PoolKey, licences: Int) throws {
        let updated = try database.run("""
            UPDATE pool SET assigned_here = assigned_here + ?3, assigned_elsewhere = CASE WHEN assigned_elsewhere > ?3 THEN assigned_elsewhere - ?3 ELSE 0 END
            WHERE token_id = ?1 AND asset_id = ?2
            """, [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue), .integer(Int64(licences))])
        precondition(updated == 1, "a synced token has a pool row for every asset Apple lists")
    }

    public func setChangedCount(batch: BatchID, _ count: Int) throws {
        try database.run("UPDATE batches SET changed_count = ? WHERE id = ?", [.integer(Int64(count)), .integer(batch.rawValue)])
    }

    /// An asset key read back from a row: a value the schema should never hold is corruption,
    /// not a default.
    public static func storedAssetKey(adamId: String, pricingParam: String) throws -> AssetKey {
        guard let pricing = PricingParam(rawValue: pricingParam) else {
            throw StoredValueError(column: "pricing_param", value: pricingParam)
        }
        return AssetKey(adamId: adamId, pricingParam: pricing)
    }
}
