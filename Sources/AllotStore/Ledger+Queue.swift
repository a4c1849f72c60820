import AllotCore

/// A device waiting in an app's queue of unmet demand, with its place (1 is served first).
public struct QueueEntry: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    public let position: Int
    public let serialNumber: String
    /// Seconds since 1970.
    public let queuedAt: Int64
}

/// What `queue cancel` did: the serials that left the queue, and those that were not in it.
public struct QueueCancellation: Sendable, Hashable, Codable {
    public var cancelled: [String] = []
    public var notQueued: [String] = []
    public init() {}
}

/// One serving of an app's queue: an ordinary assign batch over the head of the queue.
public struct QueueServing: Sendable, Hashable, Codable {
    public let asset: AssetKey
    public let outcome: BatchOutcome
    /// Devices served (assigned) by this batch.
    public let served: Int
    /// Devices still waiting after it.
    public let left: Int

    public init(asset: AssetKey, outcome: BatchOutcome, served: Int, left: Int) {
        self.asset = asset
        self.outcome = outcome
        self.served = served
        self.left = left
    }
}

extension Ledger {
    // MARK: Rows of the queue, inside the caller's write

    /// A device joins an app's queue (one that waits already keeps its place).
    public func joinQueue(tenant: TenantID, asset: AssetKey, serial: String) throws {
        // INSERT … SELECT: the asset and the device are the tenant's, found by their keys.
        try database.run("""
            INSERT INTO demand_queue (tenant_id, asset_id, device_id, queued_at)
            SELECT s.tenant_id, s.id, d.id, ?
            FROM assets s JOIN devices d ON d.tenant_id = s.tenant_id
            WHERE s.tenant_id = ? AND s.adam_id = ? AND s.pricing_param = ? AND d.serial = ?
            ON CONFLICT (tenant_id, asset_id, device_id) DO NOTHING
            """, [.integer(now), .integer(tenant.rawValue), .text(asset.adamId), .text(asset.pricingParam.rawValue), .text(serial)])
    }

    /// A device leaves an app's queue; false when it was not waiting there.
    public func leaveQueue(tenant: TenantID, asset: AssetID, serial: String) throws -> Bool {
        try database.run("""
            DELETE FROM demand_queue WHERE tenant_id = ? AND asset_id = ?
            AND device_id = (SELECT id FROM devices WHERE tenant_id = ? AND serial = ?)
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(tenant.rawValue), .text(serial)]) > 0
    }

    /// The first `limit` devices waiting for an app, in the order they are served.
    public func queueHead(tenant: TenantID, asset: AssetID, limit: Int) throws -> [(entry: Int64, serial: String)] {
        try database.query("""
            SELECT q.id, d.serial FROM demand_queue q JOIN devices d ON d.tenant_id = q.tenant_id AND d.id = q.device_id
            WHERE q.tenant_id = ? AND q.asset_id = ? ORDER BY q.id LIMIT ?
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(Int64(limit))]) { (entry: $0.int64(0), serial: $0.string(1)) }
    }

    public func deleteQueueEntry(_ entry: Int64) throws {
        try database.run("DELETE FROM demand_queue WHERE id = ?", [.integer(entry)])
    }

    /// The one `queue_served` event of a serving.
    public func recordQueueServed(tenant: TenantID, asset: AssetKey, batch: BatchID, served: Int, left: Int) throws {
        try recordEvent(tenant: tenant, kind: .queueServed,
                        detail: QueueEventDetail(adamId: asset.adamId, pricingParam: asset.pricingParam.rawValue, batchId: batch,
                                                 devices: served, left: left))
    }

    /// Inside a retirement: retired devices leave every queue.
    func leaveEveryQueue(tenant: TenantID, devices: [DeviceID]) throws {
        for device in devices {
            try database.run("DELETE FROM demand_queue WHERE tenant_id = ? AND device_id = ?",
                             [.integer(tenant.rawValue), .integer(device.rawValue)])
        }
    }

    public func hasWaiting(tenant: TenantID, asset: AssetID) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM demand_queue WHERE tenant_id = ? AND asset_id = ? LIMIT 1",
                                [.integer(tenant.rawValue), .integer(asset.rawValue)]) { _ in true } ?? false
    }

    public func waitingCount(tenant: TenantID) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM demand_queue WHERE tenant_id = ?", [.integer(tenant.rawValue)]) { $0.int(0) } ?? 0
    }

    // MARK: Reading and cancelling

    /// The waiting devices, app by app, each app's in the order they are served.
    public func queue(tenant: TenantID, asset: AssetKey? = nil) throws -> [QueueEntry] {
        let select = """
            SELECT s.adam_id, s.pricing_param, d.serial, q.queued_at FROM demand_queue q
            JOIN assets s ON s.tenant_id = q.tenant_id AND s.id = q.asset_id
            JOIN devices d ON d.tenant_id = q.tenant_id AND d.id = q.device_id
            WHERE q.tenant_id = ?
            """
        let order = " ORDER BY length(s.adam_id), s.adam_id, s.pricing_param, q.id"
        let rows: [(asset: AssetKey, serial: String, at: Int64)]
        let read = { (row: any SQLRow) throws -> (asset: AssetKey, serial: String, at: Int64) in
            (try Self.storedAssetKey(adamId: row.string(0), pricingParam: row.string(1)), row.string(2), row.int64(3))
        }
        if let asset {
            rows = try database.query(select + " AND s.adam_id = ? AND s.pricing_param = ?" + order,
                                      [.integer(tenant.rawValue), .text(asset.adamId), .text(asset.pricingParam.rawValue)], row: read)
        } else {
            rows = try database.query(select + order, [.integer(tenant.rawValue)], row: read)
        }
        var positions: [AssetKey: Int] = [:]
        return rows.map { row in
            positions[row.asset, default: 0] += 1
            return QueueEntry(adamId: row.asset.adamId, pricingParam: row.asset.pricingParam.rawValue,
                              position: positions[row.asset]!, serialNumber: row.serial, queuedAt: row.at)
        }
    }

    /// The apps that have devices waiting.
    public func assetsWithDemand(tenant: TenantID) throws -> [AssetKey] {
        try database.query("""
            SELECT DISTINCT s.adam_id, s.pricing_param FROM demand_queue q JOIN assets s ON s.tenant_id = q.tenant_id AND s.id = q.asset_id
            WHERE q.tenant_id = ? ORDER BY s.adam_id, s.pricing_param
            """, [.integer(tenant.rawValue)]) { try Self.storedAssetKey(adamId: $0.string(0), pricingParam: $0.string(1)) }
    }

    /// Removes devices from an app's queue, in one transaction. A malformed serial refuses the
    /// whole call; a device that was not waiting is reported, not refused.
    public func cancelQueued(tenant: TenantID, asset key: AssetKey, serials: [String]) throws -> QueueCancellation {
        guard !serials.isEmpty else { throw AllotError.invalidInput("no serial numbers were given; name the devices to take out of the queue") }
        guard serials.count <= BatchLimits.itemsMax else {
            throw AllotError(.tooLarge, "\(serials.count) devices is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        var valid: [SerialNumber] = []
        for raw in serials {
            guard let serial = SerialNumber(raw) else { throw AllotError.invalidInput(SerialNumber.problem(with: raw) + "; nothing was cancelled") }
            valid.append(serial)
        }
        return try write(tenant: tenant) {
            guard let asset = try resolveAssets(tenant: tenant, [key])[key] else {
                throw AllotError.notFound("the tenant has no app \(key); its tokens do not hold it, so nothing waits for it")
            }
            var report = QueueCancellation()
            for serial in valid {
                if try leaveQueue(tenant: tenant, asset: asset.id, serial: serial.value) {
                    report.cancelled.append(serial.value)
                } else {
                    report.notQueued.append(serial.value)
                }
            }
            if !report.cancelled.isEmpty {
                try recordEvent(tenant: tenant, kind: .queueCancelled,
                                detail: QueueEventDetail(adamId: key.adamId, pricingParam: key.pricingParam.rawValue, batchId: nil,
                                                         devices: report.cancelled.count, left: try waitingCount(tenant: tenant, asset: asset.id)))
            }
            return report
        }
    }

    public func waitingCount(tenant: TenantID, asset: AssetID) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM demand_queue WHERE tenant_id = ? AND asset_id = ?",
                                [.integer(tenant.rawValue), .integer(asset.rawValue)]) { $0.int(0) } ?? 0
    }
}

private struct QueueEventDetail: Encodable {
    let adamId: String
    let pricingParam: String
    let batchId: BatchID?
    let devices: Int
    let left: Int
}
