import Allot
import AllotCore
import AllotStore
import Foundation

/// A database shared by many tenants: the same total of devices split evenly among `tenants`
/// tenants, each with 3 tokens and `apps` apps, built with set-based SQL after the ledger's
/// migrations (10,000 tenants through the API would take longer than the measurement).
/// Batch j goes to tenant j mod T and assigns `apps` apps × (batch size / apps) devices, so
/// every tenant count runs batches of the same shape.
public final class TenantsDatabase {
    public let ledger: Ledger
    public let tenants: [Tenant]
    public let apps: Int
    public let devicesPerTenant: Int
    public let batchSize: Int
    var next = 0

    public init(path: String, tenants count: Int, totalDevices: Int, apps: Int, batchSize: Int) throws {
        precondition(batchSize % apps == 0, "a batch is apps × devices")
        let ledger = try Ledger(path: path)
        self.ledger = ledger
        self.apps = apps
        self.batchSize = batchSize
        let devicesPerTenant = max(totalDevices / count, batchSize / apps)
        self.devicesPerTenant = devicesPerTenant
        let database = ledger.database
        let now = Int64(Date().timeIntervalSince1970)
        _ = try database.transaction {
            try database.run("""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1)
                INSERT INTO tenants (id, slug, name, mdm_id, policy, created_at)
                SELECT i, 'tenant-' || i, 'Tenant ' || i, 'mdm-' || i, 'most-available', ?2 FROM s
                """, [.integer(Int64(count)), .integer(now)])
            try database.run("""
                WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 2)
                INSERT INTO tokens (tenant_id, location_uid, location_name, org_name, expires_at, created_at)
                SELECT t.id, 'location-' || t.id || '-' || k.i, 'Location', 'Benchmark', ?1, ?2 FROM tenants t, k ORDER BY t.id, k.i
                """, [.integer(Workload.expiry), .integer(now)])
            try database.run("""
                WITH RECURSIVE a(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM a WHERE i + 1 < ?1)
                INSERT INTO assets (tenant_id, adam_id, pricing_param) SELECT t.id, CAST(1000000 + a.i AS TEXT), 'STDQ'
                FROM tenants t, a ORDER BY t.id, a.i
                """, [.integer(Int64(apps))])
            try database.run("""
                INSERT INTO pool (token_id, asset_id, total) SELECT k.id, a.id, ?1 FROM tokens k JOIN assets a ON a.tenant_id = k.tenant_id
                """, [.integer(Int64(devicesPerTenant))])
            try database.run("""
                WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i + 1 < ?1)
                INSERT INTO devices (tenant_id, serial) SELECT t.id, printf('B%09d', d.i) FROM tenants t, d ORDER BY t.id, d.i
                """, [.integer(Int64(devicesPerTenant))])
        }
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tenants = try ledger.tenants().sorted { $0.id < $1.id }
        precondition(tenants.count == count)
    }

    /// The next batch: its tenant and items (built before the clock starts).
    public func nextBatch() -> (Tenant, [BatchItem]) {
        let tenant = tenants[next % tenants.count]
        let visit = next / tenants.count
        next += 1
        let devices = batchSize / apps
        precondition((visit + 1) * devices <= devicesPerTenant, "the tenants benchmark ran out of devices")
        var items: [BatchItem] = []
        items.reserveCapacity(batchSize)
        for app in 0..<apps {
            let asset = Workload.asset(app)
            for device in visit * devices..<(visit + 1) * devices {
                items.append(BatchItem(asset: asset, serial: Workload.serial(device)))
            }
        }
        return (tenant, items)
    }

    public func run(_ batch: (Tenant, [BatchItem])) throws {
        let outcome = try Workflows(ledger).runBatch(tenant: batch.0, direction: .assign, items: batch.1)
        precondition(outcome.counts["assigned"] == batch.1.count, "a benchmark batch did not assign every item: \(outcome.counts)")
    }
}
