import AllotCore

extension Ledger {
    /// Registers or updates devices, one transaction for all: new serials are imported, known
    /// ones updated (and brought back if retired). Fields left nil keep their stored value.
    public func registerDevices(tenant: TenantID, _ devices: [DeviceInput]) throws -> ImportReport {
        try writingDevices(of: tenant) {
            try database.transaction { try upsertDevices(tenant: tenant, devices) }
        }
    }

    /// Runs a write to one tenant's devices, then drops that tenant from the device cache,
    /// whether the write committed, rolled back or threw: the cache never runs ahead of the
    /// file, and the next batch reloads the tenant's devices as committed.
    func writingDevices<T>(of tenant: TenantID, _ body: () throws -> T) rethrows -> T {
        // PostgreSQL keeps no device cache: several nodes write one database.
        guard let sqlite else { return try body() }
        let before = sqlite.deviceWrites
        deviceCache.drop(tenant: tenant)
        defer {
            deviceCache.drop(tenant: tenant)
            deviceCache.acknowledge(deviceWritesBefore: before, database: sqlite)
        }
        return try body()
    }

    /// Imports a CSV roster: bad lines are rejected with their line number, the good ones
    /// imported in one transaction. A file that cannot be a roster at all changes nothing.
    public func importRoster(tenant: TenantID, csv: some Collection<UInt8>) throws -> ImportReport {
        let roster: Roster
        do { roster = try Roster(csv: csv) } catch { throw AllotError.invalidInput(error.message) }
        let inputs = roster.rows.map { row in
            DeviceInput(serial: row.serial, name: row.name, model: row.model, group: row.group)
        }
        var report = try writingDevices(of: tenant) {
            try database.transaction {
                let report = try upsertDevices(tenant: tenant, inputs)
                try recordEvent(tenant: tenant, kind: .rosterImported,
                                detail: ["imported": report.imported, "updated": report.updated, "rejected": roster.rejected.count])
                return report
            }
        }
        report.rejected = roster.rejected
        return report
    }

    func upsertDevices(tenant: TenantID, _ devices: [DeviceInput]) throws -> ImportReport {
        // A new serial is inserted; a known one (the insert did nothing) is updated. Empty text
        // clears a field; NULL (the column absent from the file) keeps it; a new row stores NULL
        // for both. Two portable statements rather than an upsert: neither engine tells an
        // upsert's insert from its update in the same way, and a new device needs only the first.
        var report = ImportReport()
        for device in devices {
            let values: [SQLValue] = [.integer(tenant.rawValue), .text(device.serial.value), SQLValue(device.name),
                                      SQLValue(device.model), SQLValue(device.group)]
            let inserted = try database.run("""
                INSERT INTO devices (tenant_id, serial, name, model, grp) VALUES (?1, ?2, nullif(?3, ''), nullif(?4, ''), nullif(?5, ''))
                ON CONFLICT (tenant_id, serial) DO NOTHING
                """, values)
            if inserted == 1 {
                report.imported += 1
                continue
            }
            try database.run("""
                UPDATE devices SET
                    name = CASE WHEN ?3 = '' THEN NULL ELSE coalesce(?3, name) END,
                    model = CASE WHEN ?4 = '' THEN NULL ELSE coalesce(?4, model) END,
                    grp = CASE WHEN ?5 = '' THEN NULL ELSE coalesce(?5, grp) END,
                    retired_at = NULL
                WHERE tenant_id = ?1 AND serial = ?2
                """, values)
            report.updated += 1
        }
        return report
    }

    public func devices(tenant: TenantID, group: String? = nil, includeRetired: Bool = true) throws -> [Device] {
        try database.query("""
            SELECT id, serial, name, model, grp, retired_at IS NOT NULL FROM devices
            WHERE tenant_id = ?1 AND (grp = ?2 OR ?2 IS NULL) AND (?3 = 1 OR retired_at IS NULL)
            ORDER BY serial
            """, [.integer(tenant.rawValue), SQLValue(group), .integer(includeRetired ? 1 : 0)]) { row in
            Device(id: DeviceID(row.int64(0)), serialNumber: row.string(1), name: row.optionalString(2),
                   model: row.optionalString(3), group: row.optionalString(4), retired: row.bool(5))
        }
    }

    /// Takes every licence back from these devices and marks them retired. Refused whole, with
    /// nothing changed, if a serial is malformed or unknown.
    public func retireDevices(tenant: TenantID, serials: [String]) throws -> RevocationReport {
        guard !serials.isEmpty else { throw AllotError.invalidInput("no serial numbers were given; name the devices to retire") }
        guard serials.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(serials.count) devices is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        return try writingDevices(of: tenant) { try write(tenant: tenant) {
            var deviceIds: [DeviceID] = []
            for raw in serials {
                guard let serial = SerialNumber(raw) else { throw AllotError.invalidInput(SerialNumber.problem(with: raw) + "; nothing was retired") }
                guard let device = try database.queryFirst("SELECT id FROM devices WHERE tenant_id = ? AND serial = ?",
                                                            [.integer(tenant.rawValue), .text(serial.value)], row: { DeviceID($0.int64(0)) }) else {
                    throw AllotError.notFound("no device with serial \(serial) is registered; nothing was retired")
                }
                deviceIds.append(device)
            }
            return try retire(tenant: tenant, deviceIds)
        } }
    }

    /// Inside the caller's transaction (and `writingDevices`): takes every licence back from
    /// these devices, takes them out of every queue and marks them retired.
    func retire(tenant: TenantID, _ deviceIds: [DeviceID]) throws -> RevocationReport {
        let held = try deviceIds.flatMap { device in
            try database.query("""
                SELECT a.asset_id, a.device_id, a.token_id, d.serial FROM assignments a JOIN devices d ON d.id = a.device_id
                WHERE a.tenant_id = ? AND a.device_id = ?
                """, [.integer(tenant.rawValue), .integer(device.rawValue)], row: HeldAssignment.init(row:))
        }
        let report = try revoke(tenant: tenant, held, batchKind: "retire")
        try leaveEveryQueue(tenant: tenant, devices: deviceIds)
        for device in deviceIds {
            try database.run("UPDATE devices SET retired_at = coalesce(retired_at, ?) WHERE id = ?", [.integer(now), .integer(device.rawValue)])
        }
        try recordEvent(tenant: tenant, kind: .devicesRetired, detail: ["devices": deviceIds.count, "revoked": report.revoked])
        return report
    }

    /// Serials of the tenant's devices under management, optionally of one group.
    public func activeSerials(tenant: TenantID, group: String? = nil) throws -> [String] {
        try database.query("""
            SELECT serial FROM devices WHERE tenant_id = ?1 AND retired_at IS NULL AND (grp = ?2 OR ?2 IS NULL) ORDER BY id
            """, [.integer(tenant.rawValue), SQLValue(group)]) { $0.string(0) }
    }

    /// How many managed devices a roll-out over a group (or every device) selects.
    public func activeDeviceCount(tenant: TenantID, group: String? = nil) throws -> Int {
        try database.queryFirst("""
            SELECT count(*) FROM devices WHERE tenant_id = ?1 AND retired_at IS NULL AND (grp = ?2 OR ?2 IS NULL)
            """, [.integer(tenant.rawValue), SQLValue(group)]) { $0.int(0) } ?? 0
    }

    /// Whether any device of the tenant, retired or not, is in this group: a group exists only
    /// through its devices, so one that no device names is unknown, not empty.
    public func groupExists(tenant: TenantID, group: String) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM devices WHERE tenant_id = ?1 AND grp = ?2 LIMIT 1",
                                [.integer(tenant.rawValue), .text(group)]) { $0.int(0) } != nil
    }

    /// One page of the managed devices' serials in id order, after the device `after`: a
    /// roll-out reads a tenant of a million devices a chunk at a time.
    public func activeSerials(tenant: TenantID, group: String?, after: DeviceID, limit: Int) throws -> (serials: [String], last: DeviceID?) {
        precondition(limit > 0, "a page holds at least one device")
        var last: DeviceID?
        let serials = try database.query("""
            SELECT id, serial FROM devices
            WHERE tenant_id = ?1 AND retired_at IS NULL AND (grp = ?2 OR ?2 IS NULL) AND id > ?3 ORDER BY id LIMIT ?4
            """, [.integer(tenant.rawValue), SQLValue(group), .integer(after.rawValue), .integer(Int64(limit))]) { row in
            last = DeviceID(row.int64(0))
            return row.string(1)
        }
        return (serials, last)
    }
}

/// An assignment row with the serial of its device, for taking it back.
struct HeldAssignment {
    let asset: AssetID
    let device: DeviceID
    let token: TokenID
    let serial: String

    init(row: any SQLRow) {
        asset = AssetID(row.int64(0))
        device = DeviceID(row.int64(1))
        token = TokenID(row.int64(2))
        serial = row.string(3)
    }
}

/// One licence a device holds: the app, the token it came from, and whether Apple confirmed it.
public struct Holding: Sendable, Hashable, Codable {
    public let serialNumber: String
    public let adamId: String
    public let pricingParam: String
    public let tokenId: TokenID
    public let locationUid: String
    public let confirmed: Bool
}

extension Ledger {
    /// A device by serial, with the licences it holds (`allot devices show`).
    public func device(tenant: TenantID, serial raw: String) throws -> (device: Device, holdings: [Holding]) {
        guard let serial = SerialNumber(raw) else { throw AllotError.invalidInput(SerialNumber.problem(with: raw)) }
        guard let device = try database.queryFirst("""
            SELECT id, serial, name, model, grp, retired_at IS NOT NULL FROM devices WHERE tenant_id = ? AND serial = ?
            """, [.integer(tenant.rawValue), .text(serial.value)], row: { row in
            Device(id: DeviceID(row.int64(0)), serialNumber: row.string(1), name: row.optionalString(2),
                   model: row.optionalString(3), group: row.optionalString(4), retired: row.bool(5))
        }) else {
            throw AllotError.notFound("there is no device \(serial.value) in this tenant")
        }
        let holdings = try holdings(tenant: tenant, where: "a.device_id = ?2", .integer(device.id.rawValue), limit: nil)
        return (device, holdings)
    }

    /// The devices holding an app, in serial order, at most `limit`, and how many more hold it.
    public func holders(tenant: TenantID, asset: AssetKey, limit: Int) throws -> (holdings: [Holding], omitted: Int) {
        precondition(limit > 0, "a listing shows at least one row")
        guard let assetId = try database.queryFirst("SELECT id FROM assets WHERE tenant_id = ? AND adam_id = ? AND pricing_param = ?",
                                                    [.integer(tenant.rawValue), .text(asset.adamId), .text(asset.pricingParam.rawValue)],
                                                    row: { $0.int64(0) }) else {
            throw AllotError.notFound("the tenant has no app \(asset); its tokens do not hold it")
        }
        let rows = try holdings(tenant: tenant, where: "a.asset_id = ?2", .integer(assetId), limit: limit + 1)
        guard rows.count > limit else { return (rows, 0) }
        // Counted only when cut: every assignment row has its device, token and asset.
        let held = try database.queryFirst("SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND asset_id = ?",
                                           [.integer(tenant.rawValue), .integer(assetId)]) { $0.int(0) } ?? 0
        return (Array(rows.prefix(limit)), max(held - limit, 1))
    }

    private func holdings(tenant: TenantID, where condition: String, _ value: SQLValue, limit: Int?) throws -> [Holding] {
        try database.query("""
            SELECT d.serial, s.adam_id, s.pricing_param, a.token_id, t.location_uid, a.status FROM assignments a
            JOIN devices d ON d.tenant_id = a.tenant_id AND d.id = a.device_id
            JOIN assets s ON s.tenant_id = a.tenant_id AND s.id = a.asset_id
            JOIN tokens t ON t.tenant_id = a.tenant_id AND t.id = a.token_id
            WHERE a.tenant_id = ?1 AND \(condition) ORDER BY d.serial, s.adam_id, s.pricing_param LIMIT ?3
            """, [.integer(tenant.rawValue), value, .integer(Int64(limit ?? Int(Int64.max)))]) { row in
            Holding(serialNumber: row.string(0), adamId: row.string(1), pricingParam: row.string(2),
                    tokenId: TokenID(row.int64(3)), locationUid: row.string(4), confirmed: row.int(5) == 1)
        }
    }
}
