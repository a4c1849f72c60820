import Allot
import AllotCore
import AllotStore
import Foundation
import PostgresNIO

/// `--postgres URL`, its node rows: one `allot serve` node's engines (`NodeEngines`) with
/// `connections` PostgreSQL connections while `tenants` tenants send batches at once, beside
/// the same node held to one connection, and the same rows inserted server-side by
/// `connections` connections at once (`INSERT … SELECT unnest`, nothing decided).
enum PostgresNodeBench {
    struct Result {
        let connections: Int, tenants: Int
        let node: Double, oneConnection: Double, limit: Double
    }

    /// `serverURL`: the `--postgres` URL as given (its password, if any, kept for the engines).
    static func run(server: PostgresLocation, serverURL: String, connections: Int, tenants: Int, batchSize: Int, batches: Int) throws -> Result {
        let devices = batchSize * batches
        func url(_ location: PostgresLocation) -> String {
            var components = URLComponents(string: serverURL)!
            components.path = "/" + location.database
            return components.string!
        }
        let nodeDatabase = try PostgresBench.fresh(server, "node", tenants: tenants, devices: devices)
        let node = try allocationsPerSecond(url(nodeDatabase), engines: connections, tenants: tenants, batchSize: batchSize, batches: batches)
        let oneDatabase = try PostgresBench.fresh(server, "node1", tenants: tenants, devices: devices)
        let one = try allocationsPerSecond(url(oneDatabase), engines: 1, tenants: tenants, batchSize: batchSize, batches: batches)
        let limitDatabase = try PostgresBench.fresh(server, "nodelimit", tenants: tenants, devices: devices)
        let limit = try bulkInsertsPerSecond(limitDatabase, connections: connections, tenants: tenants, batchSize: batchSize, batches: batches)
        return Result(connections: connections, tenants: tenants, node: node, oneConnection: one, limit: limit)
    }

    static func report(_ result: Result, batchSize: Int) {
        func rate(_ value: Double) -> String { String(format: "%12.0f", value) }
        print("""

            One node, \(result.tenants) tenants sending batches of \(batchSize) at once (allocations/s)
              node of \(result.connections) engines (\(result.connections) connections)  \(rate(result.node))   \(String(format: "%.2f", result.node / result.limit))x the limit, \(String(format: "%.2f", result.node / result.oneConnection))x one connection
              node of 1 engine (1 connection)     \(rate(result.oneConnection))   \(String(format: "%.2f", result.oneConnection / result.limit))x the limit
              limit: unnest, \(result.connections) connections at once  \(rate(result.limit))
            """)
    }

    /// Wall-clock allocations/s of a node of `engines` engines, every tenant's batches sent at
    /// once, each to the engine that serves the tenant (as `allot serve` routes them).
    static func allocationsPerSecond(_ url: String, engines count: Int, tenants: Int, batchSize: Int, batches: Int) throws -> Double {
        blocking("--postgres") {
            var engines: [Allot] = []
            for _ in 0..<count { engines.append(try Allot(databasePath: url, createDatabase: false)) }
            let node = await NodeEngines.node(engines)
            let start = DispatchTime.now()
            let assigned = try await withThrowingTaskGroup(of: Int.self) { group in
                for tenant in 1...tenants {
                    let slug = "tenant-\(tenant)"
                    group.addTask {
                        var assigned = 0
                        for batch in 0..<batches {
                            let outcome = try await node.serving(tenant: slug).assign(tenant: slug, PostgresBench.items(batch: batch, batchSize: batchSize))
                            assigned += outcome.counts["assigned"] ?? 0
                        }
                        return assigned
                    }
                }
                return try await group.reduce(0, +)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            precondition(assigned == tenants * batches * batchSize, "every item of the benchmark is assigned")
            return Double(assigned) / seconds
        }
    }

    /// The limit: each tenant's batches inserted by one statement a batch (the pool's counter
    /// moved, nothing decided), the tenants shared out over `connections` threads at once.
    static func bulkInsertsPerSecond(_ location: PostgresLocation, connections: Int, tenants: Int, batchSize: Int, batches: Int) throws -> Double {
        let group = DispatchGroup()
        let failure = NSLock()
        nonisolated(unsafe) var firstError: (any Error)?
        let start = DispatchTime.now()
        for connection in 0..<connections {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let database = try PostgresLedgerDatabase(location)
                    for tenant in stride(from: connection + 1, through: tenants, by: connections) {
                        try insertBatches(database, tenant: Int64(tenant), batchSize: batchSize, batches: batches)
                    }
                } catch {
                    failure.withLock { firstError = firstError ?? error }
                }
            }.start()
        }
        group.wait()
        if let firstError { throw firstError }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Double(tenants * batches * batchSize) / seconds
    }

    static func insertBatches(_ database: PostgresLedgerDatabase, tenant: Int64, batchSize: Int, batches: Int) throws {
        let ids = try database.queryFirst("""
            SELECT a.id, k.id FROM assets a JOIN tokens k ON k.tenant_id = a.tenant_id WHERE a.tenant_id = ?
            """, [.integer(tenant)]) { ($0.int64(0), $0.int64(1)) }!
        let devices = try database.query("SELECT id FROM devices WHERE tenant_id = ? ORDER BY serial", [.integer(tenant)]) { $0.int64(0) }
        for batch in 0..<batches {
            let chunk = Array(devices[batch * batchSize..<(batch + 1) * batchSize])
            try PostgresBench.insertBatch(database, tenant: tenant, asset: ids.0, token: ids.1, devices: chunk)
        }
    }
}
