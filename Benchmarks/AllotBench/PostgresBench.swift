import Allot
import AllotCore
import AllotStore
import BenchmarkSupport
import Foundation
import PostgresNIO

/// `--postgres URL`: allocations/s with the ledger on PostgreSQL (batches of 10,000), beside
/// the limit (the same assignment rows into the same table by one `INSERT … SELECT unnest(…)`
/// a batch) and the SQLite engine, and one node against two on different tenants. Every run
/// gets fresh databases on the server the URL names (created, then dropped).
enum PostgresBench {
    struct Result {
        let engine: Double, limit: Double, sqlite: Double, oneNode: Double, twoNodes: Double
    }

    /// Devices per tenant: one batch of `batchSize` each round, every round on new devices.
    static func run(server: PostgresLocation, batchSize: Int, batches: Int, directory: String) throws -> Result {
        let devices = batchSize * batches
        // The engine, one node: tenant 1's batches.
        let engineDatabase = try fresh(server, "engine", tenants: 1, devices: devices)
        let engine = try allocationsPerSecond(engineDatabase, tenant: 1, batchSize: batchSize, batches: batches)
        // The limit: the same rows (tenant, asset, device, token, batch) by one bulk statement a batch.
        let limitDatabase = try fresh(server, "limit", tenants: 1, devices: devices)
        let limit = try bulkInsertsPerSecond(limitDatabase, batchSize: batchSize, batches: batches)
        // Two nodes: two connections (as two processes would hold), each its own tenant, at once.
        let nodesDatabase = try fresh(server, "nodes", tenants: 2, devices: devices)
        let oneNode = try allocationsPerSecond(nodesDatabase, tenant: 1, batchSize: batchSize, batches: batches / 2)
        let twoNodes = try concurrentAllocationsPerSecond(nodesDatabase, tenants: [2, 1], batchSize: batchSize, batches: batches / 2,
                                                          skipBatches: [0, batches / 2])
        // SQLite, the same shape of batch, in the same run.
        let sqlite = try TenantsDatabase(path: directory + "/postgres-bench-sqlite.sqlite", tenants: 1, totalDevices: devices, apps: 1, batchSize: batchSize)
        var seconds = 0.0
        var assigned = 0
        for _ in 0..<batches {
            let (tenant, items) = sqlite.nextBatch()
            let start = DispatchTime.now()
            let outcome = try Workflows(sqlite.ledger).runBatch(tenant: tenant, direction: .assign, items: items)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            assigned += outcome.items.count { $0.result == .assigned }
        }
        return Result(engine: engine, limit: limit, sqlite: Double(assigned) / seconds, oneNode: oneNode, twoNodes: twoNodes)
    }

    static func report(_ result: Result, batchSize: Int) {
        func rate(_ value: Double) -> String { String(format: "%12.0f", value) }
        print("""

            PostgreSQL (batches of \(batchSize); allocations/s)
              engine on PostgreSQL, 1 node      \(rate(result.engine))   \(String(format: "%.2f", result.engine / result.limit))x the limit
              limit: INSERT … SELECT unnest     \(rate(result.limit))
              engine on SQLite                  \(rate(result.sqlite))
              1 node, tenant A                  \(rate(result.oneNode))
              2 nodes, tenants A and B at once  \(rate(result.twoNodes))   \(String(format: "%.2f", result.twoNodes / result.oneNode))x one node
            """)
    }

    /// A new database with the ledger's schema and `tenants` tenants, each one token, one app
    /// with licences for every device, and `devices` devices: set-based, as fixtures go.
    static func fresh(_ server: PostgresLocation, _ label: String, tenants: Int, devices: Int) throws -> PostgresLocation {
        let name = "allot_bench_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        try PostgresLedgerDatabase(server).execute("CREATE DATABASE \(name)")
        let location = server.with(database: name)
        let ledger = try Ledger(database: try PostgresLedgerDatabase(location))
        let database = ledger.database
        let now = Int64(Date().timeIntervalSince1970)
        try database.transaction {
            try database.run("""
                INSERT INTO tenants (slug, name, mdm_id, policy, created_at)
                SELECT 'tenant-' || i, 'Tenant ' || i, 'mdm-' || i, 'most-available', ? FROM generate_series(1, ?) AS i ORDER BY i
                """, [.integer(now), .integer(Int64(tenants))])
            try database.run("""
                INSERT INTO tokens (tenant_id, location_uid, location_name, org_name, expires_at, created_at)
                SELECT id, 'location-' || id, 'Location', 'Benchmark', ?, ? FROM tenants ORDER BY id
                """, [.integer(now + 10 * 365 * 86_400), .integer(now)])
            try database.run("INSERT INTO assets (tenant_id, adam_id, pricing_param) SELECT id, '1000000', 'STDQ' FROM tenants ORDER BY id")
            try database.run("INSERT INTO pool (token_id, asset_id, total) SELECT k.id, a.id, ? FROM tokens k JOIN assets a ON a.tenant_id = k.tenant_id",
                             [.integer(Int64(devices))])
            try database.run("""
                INSERT INTO devices (tenant_id, serial) SELECT t.id, 'B' || lpad(d::text, 9, '0') FROM tenants t, generate_series(0, ? - 1) AS d ORDER BY t.id, d
                """, [.integer(Int64(devices))])
        }
        try database.execute("ANALYZE")
        return location
    }

    static func items(batch: Int, batchSize: Int) -> [BatchItem] {
        (batch * batchSize..<(batch + 1) * batchSize).map {
            BatchItem(asset: AssetKey(adamId: "1000000"), serial: "B" + String(repeating: "0", count: 9 - String($0).count) + String($0))
        }
    }

    static func allocationsPerSecond(_ location: PostgresLocation, tenant: Int64, batchSize: Int, batches: Int, skip: Int = 0) throws -> Double {
        let ledger = try Ledger(database: try PostgresLedgerDatabase(location))
        let subject = try ledger.requireTenant(slug: "tenant-\(tenant)")
        var seconds = 0.0
        var assigned = 0
        for batch in skip..<skip + batches {
            let items = items(batch: batch, batchSize: batchSize)
            let start = DispatchTime.now()
            let outcome = try Workflows(ledger).runBatch(tenant: subject, direction: .assign, items: items)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            assigned += outcome.items.count { $0.result == .assigned }
        }
        precondition(assigned == batches * batchSize, "every item of the benchmark is assigned")
        return Double(assigned) / seconds
    }

    /// Wall-clock allocations/s of several nodes at once, each on its own tenant.
    static func concurrentAllocationsPerSecond(_ location: PostgresLocation, tenants: [Int64], batchSize: Int, batches: Int,
                                               skipBatches: [Int]) throws -> Double {
        let group = DispatchGroup()
        let failure = NSLock()
        nonisolated(unsafe) var firstError: (any Error)?
        let start = DispatchTime.now()
        for (index, tenant) in tenants.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                do { _ = try allocationsPerSecond(location, tenant: tenant, batchSize: batchSize, batches: batches, skip: skipBatches[index]) } catch {
                    failure.withLock { firstError = firstError ?? error }
                }
            }.start()
        }
        group.wait()
        if let firstError { throw firstError }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        // Connecting is inside the clock here: a few ms against seconds of batches.
        return Double(tenants.count * batches * batchSize) / seconds
    }

    /// The limit: each batch's rows inserted by one statement in one transaction, with the
    /// pool's counter moved, nothing decided.
    static func bulkInsertsPerSecond(_ location: PostgresLocation, batchSize: Int, batches: Int) throws -> Double {
        let database = try PostgresLedgerDatabase(location)
        let ids = try database.queryFirst("SELECT t.id, a.id, k.id FROM tenants t JOIN assets a ON a.tenant_id = t.id JOIN tokens k ON k.tenant_id = t.id") {
            ($0.int64(0), $0.int64(1), $0.int64(2))
        }!
        let devices = try database.query("SELECT id FROM devices WHERE tenant_id = ? ORDER BY serial", [.integer(ids.0)]) { $0.int64(0) }
        var seconds = 0.0
        for batch in 0..<batches {
            let chunk = Array(devices[batch * batchSize..<(batch + 1) * batchSize])
            let start = DispatchTime.now()
            try insertBatch(database, tenant: ids.0, asset: ids.1, token: ids.2, devices: chunk)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        }
        return Double(batches * batchSize) / seconds
    }

    /// One batch's assignment rows by one statement, in one transaction with its batch row and
    /// the pool's counter: what the engine writes for a batch, with nothing decided.
    static func insertBatch(_ database: PostgresLedgerDatabase, tenant: Int64, asset: Int64, token: Int64, devices: [Int64]) throws {
        try database.transaction {
            let batchId = try database.queryFirst("""
                INSERT INTO batches (tenant_id, kind, item_count, changed_count, created_at) VALUES (?, 'assign', ?, ?, 0) RETURNING id
                """, [.integer(tenant), .integer(Int64(devices.count)), .integer(Int64(devices.count))]) { $0.int64(0) }!
            var bindings = PostgresBindings()
            bindings.append(tenant)
            bindings.append(asset)
            bindings.append(devices)
            bindings.append(token)
            bindings.append(batchId)
            let inserted = try database.runNative("""
                INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id)
                SELECT $1, $2, device_id, $4, 0, $5 FROM unnest($3::bigint[]) AS item (device_id)
                """, bindings)
            precondition(inserted == devices.count, "the bulk insert wrote every row")
            try database.run("UPDATE pool SET assigned_here = assigned_here + ? WHERE token_id = ? AND asset_id = ?",
                             [.integer(Int64(devices.count)), .integer(token), .integer(asset)])
        }
    }
}
