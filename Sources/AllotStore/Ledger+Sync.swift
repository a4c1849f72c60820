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

    /// Repairs a token's drift in one transaction: what Apple lacks is queued for Apple again;
    /// what Apple holds is recorded as confirmed, on a device registered if unknown, except on a
    /// retired device (queued for disassociation) or a device that holds the app through
    /// another token (left, and reported again).
    public func repairDrift(tenant: TenantID, token: TokenID, _ drift: [AssignmentDrift]) throws -> DriftRepair {
        try write(tenant: tenant) {
            guard try database.queryFirst("SELECT 1 FROM tokens WHERE id = ? AND tenant_id = ?",
                                          [.integer(token.rawValue), .integer(tenant.rawValue)], row: { _ in true }) == true else {
                throw AllotError.notFound("token \(token) is not this tenant's")
            }
            var repair = DriftRepair()
            guard !drift.isEmpty else { return repair }
            let keys = Set(try drift.map { try Self.storedAssetKey(adamId: $0.adamId, pricingParam: $0.pricingParam) })
            let assets = try resolveAssets(tenant: tenant, keys)
            var resend: [PoolKey: [SerialNumber]] = [:]
            var giveBack: [PoolKey: [SerialNumber]] = [:]
            var recorded: [PoolKey: [SerialNumber]] = [:]
            // The licences recorded from Apple form one batch; no batch when there are none.
            let toRecord = drift.count { $0.kind == .unknownToLedger }
            let batch = toRecord > 0 ? try insertBatch(tenant: tenant, kind: "assign", itemCount: toRecord, key: nil) : nil
            for item in drift {
                let key = try Self.storedAssetKey(adamId: item.adamId, pricingParam: item.pricingParam)
                guard let asset = assets[key], let serial = SerialNumber(item.serialNumber) else { repair.left += 1; continue }
                let pool = PoolKey(tokenId: token, assetId: asset.id)
                switch item.kind {
                case .missingAtApple:
                    // Pending again until Apple confirms the new association.
                    try database.run("""
                        UPDATE assignments SET status = 0 WHERE tenant_id = ? AND asset_id = ? AND token_id = ?
                        AND device_id = (SELECT id FROM devices WHERE tenant_id = ? AND serial = ?)
                        """, [.integer(tenant.rawValue), .integer(asset.id.rawValue), .integer(token.rawValue),
                              .integer(tenant.rawValue), .text(serial.value)])
                    resend[pool, default: []].append(serial)
                    repair.resent += 1
                case .unknownToLedger:
                    guard let batch else { preconditionFailure("a batch exists when a licence is to be recorded") }
                    try database.run("INSERT INTO devices (tenant_id, serial) VALUES (?, ?) ON CONFLICT (tenant_id, serial) DO NOTHING",
                                     [.integer(tenant.rawValue), .text(serial.value)])
                    guard let device = try database.queryFirst("SELECT id, retired_at IS NOT NULL FROM devices WHERE tenant_id = ? AND serial = ?",
                                                               [.integer(tenant.rawValue), .text(serial.value)], row: { ($0.int64(0), $0.bool(1)) }) else {
                        preconditionFailure("a device row inserted or found a statement ago exists")
                    }
                    if device.1 {
                        giveBack[pool, default: []].append(serial)
                        repair.givenBack += 1
                        continue
                    }
                    // Invariant 2: a device holds an asset once per tenant; one held through
                    // another token stays as it is. Confirmed at once: Apple listed it.
                    let inserted = try database.run("""
                        INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id) VALUES (?, ?, ?, ?, 1, ?)
                        ON CONFLICT DO NOTHING
                        """, [.integer(tenant.rawValue), .integer(asset.id.rawValue), .integer(device.0), .integer(token.rawValue),
                              .integer(batch.rawValue)])
                    if inserted == 1 {
                        recorded[pool, default: []].append(serial)
                        repair.recorded += 1
                    } else {
                        repair.left += 1
                    }
                }
            }
            // Counters move by the rows that changed. Apple counted these licences as in use,
            // so they move from "elsewhere" to "here".
            for (pool, serials) in recorded {
                let updated = try database.run("""
                    UPDATE pool SET assigned_here = assigned_here + ?3, assigned_elsewhere = CASE WHEN assigned_elsewhere > ?3 THEN assigned_elsewhere - ?3 ELSE 0 END
                    WHERE token_id = ?1 AND asset_id = ?2
                    """, [.integer(pool.tokenId.rawValue), .integer(pool.assetId.rawValue), .integer(Int64(serials.count))])
                precondition(updated == 1, "a synced token has a pool row for every asset Apple lists")
            }
            // A recorded row is a batch like any other (invariants 4 and 5): its association goes
            // through the outbox too. Apple already holds it, and associating again is harmless.
            if let batch {
                try database.run("UPDATE batches SET changed_count = ? WHERE id = ?", [.integer(Int64(repair.recorded)), .integer(batch.rawValue)])
                try enqueueForApple(tenant: tenant, batch: batch, kind: .associate, recorded)
            }
            // What Apple lacks, or should give back, changes no row here: no batch, like a
            // take-over's clean-up.
            try enqueueForApple(tenant: tenant, batch: nil, kind: .associate, resend)
            try enqueueForApple(tenant: tenant, batch: nil, kind: .disassociate, giveBack)
            try recordEvent(tenant: tenant, kind: .driftRepaired, token: token, detail: repair)
            return repair
        }
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
