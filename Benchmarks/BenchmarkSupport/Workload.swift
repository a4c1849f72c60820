import Allot
import AllotCore
import AllotStore
import CSQLite
import Foundation

/// The realistic tenant of the issue: 3 tokens, 200 apps, a roster of a million devices. Smaller
/// shapes serve the CI smoke run (`--quick`) and the planning benchmark.
public struct Shape: Sendable {
    public var tokens: Int
    public var apps: Int
    public var devices: Int
    /// Licences per token and app: enough that no benchmark batch ever runs out.
    public var licencesPerPool: Int

    public init(tokens: Int = 3, apps: Int = 200, devices: Int = 1_000_000, licencesPerPool: Int? = nil) {
        self.tokens = tokens
        self.apps = apps
        self.devices = devices
        self.licencesPerPool = licencesPerPool ?? devices
    }

    public static let realistic = Shape()
}

/// Names and numbers every workload derives the same way, so the engine, the limit and the
/// naive allocator write exactly the same rows.
public enum Workload {
    /// `B` and nine digits: a valid serial (8 to 14 of A-Z0-9), the same text in Swift and SQL.
    public static func serial(_ index: Int) -> String {
        var digits = String(index)
        if digits.count < 9 { digits = String(repeating: "0", count: 9 - digits.count) + digits }
        return "B" + digits
    }
    static let serialSQL = "printf('B%09d', %@)"

    public static func asset(_ index: Int) -> AssetKey { AssetKey(adamId: String(1_000_000 + index)) }

    /// A year from now: every token is usable.
    static var expiry: Int64 { Int64(Date().timeIntervalSince1970) + 365 * 86_400 }
}

/// A database holding one tenant of a given shape, built through the ledger (migrations,
/// tenant, tokens and their pools by `applySnapshot`); the devices are registered with one
/// set-based INSERT, since registering a million devices through the API is measured on its own
/// (roster import).
public final class Fixture {
    public let path: String
    public let shape: Shape
    public private(set) var ledger: Ledger?
    public let tenant: Tenant
    public let tokens: [TokenID]
    public let assets: [AssetKey]
    public let assetIDs: [AssetID]
    /// Device ids run from `firstDevice` for serial 0 to `firstDevice + devices - 1`.
    public let firstDevice: Int64

    public init(path: String, shape: Shape, slug: String = "bench") throws {
        self.path = path
        self.shape = shape
        let ledger = try Ledger(path: path)
        self.ledger = ledger
        let tenant = try ledger.createTenant(slug: slug, name: "Benchmark", policy: .mostAvailable)
        self.tenant = tenant
        var tokens: [TokenID] = []
        let assets = (0..<shape.apps).map(Workload.asset)
        self.assets = assets
        let snapshot = assets.map { SnapshotAsset(asset: $0, total: shape.licencesPerPool, appleAssigned: 0) }
        for index in 0..<shape.tokens {
            let token = try ledger.addToken(tenant: tenant.id, NewToken(
                locationUid: "\(slug)-location-\(index)", locationName: "Location \(index)", orgName: "Benchmark",
                secret: nil, expiresAt: Workload.expiry))
            _ = try ledger.applySnapshot(tenant: tenant.id, token: token, assets: snapshot)
            tokens.append(token)
        }
        self.tokens = tokens
        let database = ledger.database
        assetIDs = try assets.map { key in
            try database.queryFirst("SELECT id FROM assets WHERE tenant_id = ? AND adam_id = ? AND pricing_param = ?",
                                           [.integer(tenant.id.rawValue), .text(key.adamId), .text(key.pricingParam.rawValue)]) { AssetID($0.int64(0)) }!
        }
        let devices = shape.devices
        _ = try database.transaction {
            try database.run("""
                WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
                INSERT INTO devices (tenant_id, serial) SELECT ?1, printf('B%09d', i) FROM s
                """, [.integer(tenant.id.rawValue), .integer(Int64(devices))])
        }
        let range = try ledger.database.queryFirst("SELECT min(id), max(id), count(*) FROM devices WHERE tenant_id = ?",
                                                   [.integer(tenant.id.rawValue)]) { ($0.int64(0), $0.int64(1), $0.int64(2)) }!
        precondition(range.2 == shape.devices && range.1 - range.0 + 1 == range.2, "device ids are not contiguous")
        firstDevice = range.0
        let serial0 = try ledger.database.queryFirst("SELECT serial FROM devices WHERE id = ?", [.integer(range.0)]) { $0.string(0) }!
        precondition(serial0 == Workload.serial(0), "serials in SQL and Swift differ")
    }

    /// Closes the engine's connection (the baselines open their own).
    public func close() { ledger = nil }

    public func reopen() throws -> Ledger {
        let ledger = try Ledger(path: path)
        self.ledger = ledger
        return ledger
    }

    /// Fills the assignments table with `count` rows with set-based SQL (apps in order, every
    /// device of an app before the next app, tokens in turn), committing one app at a time, and
    /// brings the pool counters in step. The engine's later batches start after these apps.
    /// Returns the number of apps used.
    @discardableResult
    public func fillAssignments(_ count: Int) throws -> Int {
        guard count > 0 else { return 0 }
        let database = ledger!.database
        let appsNeeded = (count + shape.devices - 1) / shape.devices
        precondition(appsNeeded < shape.apps, "not enough apps to hold \(count) assignments")
        var left = count
        for app in 0..<appsNeeded {
            let rows = min(left, shape.devices)
            _ = try database.transaction {
                try database.run("""
                    INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id)
                    SELECT ?1, ?2, id, CASE id % 3 WHEN 0 THEN ?3 WHEN 1 THEN ?4 ELSE ?5 END, 0, 0
                    FROM devices WHERE tenant_id = ?1 ORDER BY id LIMIT ?6
                    """, [.integer(tenant.id.rawValue), .integer(assetIDs[app].rawValue),
                          .integer(tokens[0].rawValue), .integer(tokens[1 % tokens.count].rawValue),
                          .integer(tokens[2 % tokens.count].rawValue), .integer(Int64(rows))])
                try database.run("""
                    UPDATE pool SET assigned_here = (SELECT count(*) FROM assignments a WHERE a.token_id = pool.token_id AND a.asset_id = pool.asset_id)
                    WHERE asset_id = ?
                    """, [.integer(assetIDs[app].rawValue)])
            }
            left -= rows
        }
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return appsNeeded
    }
}

/// Walks through (app, slice of devices) pairs so that every batch assigns new pairs: batch k
/// takes app `k / slicesPerApp` and devices `(k % slicesPerApp) * size ..< + size`.
public struct BatchCursor {
    public let shape: Shape
    public let size: Int
    public var next: Int

    public init(shape: Shape, size: Int, startApp: Int = 0) {
        precondition(shape.devices >= size, "a batch of \(size) needs at least as many devices")
        self.shape = shape
        self.size = size
        next = startApp * (shape.devices / size)
    }

    public mutating func take() -> (app: Int, firstDevice: Int) {
        let slices = shape.devices / size
        let k = next
        next += 1
        precondition(k / slices < shape.apps, "the benchmark ran out of (app, device) pairs")
        return (k / slices, (k % slices) * size)
    }
}

// MARK: The three allocators

/// The engine end to end: `Workflows.runBatch` (decisions, assignment rows, pool counters, outbox,
/// batch row, event) in one transaction per batch.
public struct EngineRunner {
    public let fixture: Fixture
    public var cursor: BatchCursor

    public init(fixture: Fixture, batchSize: Int, startApp: Int = 0) {
        self.fixture = fixture
        cursor = BatchCursor(shape: fixture.shape, size: batchSize, startApp: startApp)
    }

    /// The next batch's items, built before the clock starts (they are the caller's input).
    public mutating func nextItems() -> [BatchItem] {
        let (app, first) = cursor.take()
        let asset = fixture.assets[app]
        return (first..<first + cursor.size).map { BatchItem(asset: asset, serial: Workload.serial($0)) }
    }

    public func run(_ items: [BatchItem]) throws {
        let outcome = try Workflows(fixture.ledger!).runBatch(tenant: fixture.tenant, direction: .assign, items: items)
        precondition(outcome.counts["assigned"] == items.count, "a benchmark batch did not assign every item: \(outcome.counts)")
    }
}

/// The limit: the raw C-API prepared INSERT of the same rows into the same `assignments` table
/// (same indexes and foreign keys, created by the same migrations), on its own connection with
/// the same pragmas, one transaction per batch. No lookups, no decisions, no bookkeeping.
public final class LimitRunner {
    public let fixture: Fixture
    public var cursor: BatchCursor
    let connection: RawConnection
    let insert: OpaquePointer
    let begin: OpaquePointer
    let commit: OpaquePointer

    public init(fixture: Fixture, batchSize: Int) {
        self.fixture = fixture
        cursor = BatchCursor(shape: fixture.shape, size: batchSize)
        connection = RawConnection(path: fixture.path)
        insert = connection.prepare("INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id) VALUES (?, ?, ?, ?, 0, ?)")
        begin = connection.prepare("BEGIN IMMEDIATE")
        commit = connection.prepare("COMMIT")
    }

    private var closed = false

    /// Finalizes the statements and closes the connection.
    public func close() {
        guard !closed else { return }
        closed = true
        sqlite3_finalize(insert)
        sqlite3_finalize(begin)
        sqlite3_finalize(commit)
        connection.close()
    }

    deinit { close() }

    public var pragmas: String { connection.pragmas }

    public func nextBatch() -> (asset: Int64, firstDevice: Int64) {
        let (app, first) = cursor.take()
        return (fixture.assetIDs[app].rawValue, fixture.firstDevice + Int64(first))
    }

    public func run(_ batch: (asset: Int64, firstDevice: Int64)) {
        let tenant = fixture.tenant.id.rawValue
        let tokens = fixture.tokens.map(\.rawValue)
        RawConnection.run(begin)
        for index in 0..<cursor.size {
            let device = batch.firstDevice + Int64(index)
            sqlite3_bind_int64(insert, 1, tenant)
            sqlite3_bind_int64(insert, 2, batch.asset)
            sqlite3_bind_int64(insert, 3, device)
            sqlite3_bind_int64(insert, 4, tokens[index % tokens.count])
            sqlite3_bind_int64(insert, 5, 0)
            RawConnection.run(insert)
        }
        RawConnection.run(commit)
    }
}

/// The naive allocator, as most MDMs write it: per item, SELECT the pool with a free licence,
/// UPDATE its count, INSERT the assignment (finding the device by serial inside the INSERT);
/// one transaction per batch. `cachedStatements: false` prepares every statement per use, as
/// code without a statement cache does; `true` keeps them prepared, a stronger floor.
public final class NaiveRunner {
    public let fixture: Fixture
    public var cursor: BatchCursor
    public let cachedStatements: Bool
    let connection: RawConnection
    static let selectSQL = """
        SELECT token_id, total - assigned_here - assigned_elsewhere AS free FROM pool
        WHERE asset_id = ? AND free > 0 ORDER BY free DESC, token_id LIMIT 1
        """
    static let updateSQL = "UPDATE pool SET assigned_here = assigned_here + 1 WHERE token_id = ? AND asset_id = ?"
    static let insertSQL = """
        INSERT INTO assignments (tenant_id, asset_id, device_id, token_id, status, batch_id)
        SELECT ?1, ?2, id, ?3, 0, 0 FROM devices WHERE tenant_id = ?1 AND serial = ?4
        """
    var cached: [OpaquePointer] = []

    public init(fixture: Fixture, batchSize: Int, cachedStatements: Bool) {
        self.fixture = fixture
        self.cachedStatements = cachedStatements
        cursor = BatchCursor(shape: fixture.shape, size: batchSize)
        connection = RawConnection(path: fixture.path)
        if cachedStatements {
            cached = [Self.selectSQL, Self.updateSQL, Self.insertSQL].map(connection.prepare)
        }
    }

    /// Finalizes the statements and closes the connection.
    public func close() {
        cached.forEach { sqlite3_finalize($0) }
        cached = []
        connection.close()
    }

    deinit { close() }

    public func nextItems() -> (asset: Int64, serials: [String]) {
        let (app, first) = cursor.take()
        return (fixture.assetIDs[app].rawValue, (first..<first + cursor.size).map(Workload.serial))
    }

    @inline(__always)
    private func statement(_ index: Int, _ sql: String) -> OpaquePointer {
        cachedStatements ? cached[index] : connection.prepare(sql)
    }

    @inline(__always)
    private func done(_ statement: OpaquePointer) {
        if cachedStatements { sqlite3_reset(statement) } else { sqlite3_finalize(statement) }
    }

    public func run(_ batch: (asset: Int64, serials: [String])) {
        let tenant = fixture.tenant.id.rawValue
        connection.exec("BEGIN IMMEDIATE")
        for serial in batch.serials {
            let select = statement(0, Self.selectSQL)
            sqlite3_bind_int64(select, 1, batch.asset)
            precondition(sqlite3_step(select) == SQLITE_ROW, "the naive allocator found no free licence")
            let token = sqlite3_column_int64(select, 0)
            done(select)

            let update = statement(1, Self.updateSQL)
            sqlite3_bind_int64(update, 1, token)
            sqlite3_bind_int64(update, 2, batch.asset)
            precondition(sqlite3_step(update) == SQLITE_DONE)
            done(update)

            let insert = statement(2, Self.insertSQL)
            sqlite3_bind_int64(insert, 1, tenant)
            sqlite3_bind_int64(insert, 2, batch.asset)
            sqlite3_bind_int64(insert, 3, token)
            serial.utf8CString.withUnsafeBufferPointer { text in
                _ = sqlite3_bind_text(insert, 4, text.baseAddress, Int32(text.count - 1), rawTransient)
            }
            precondition(sqlite3_step(insert) == SQLITE_DONE)
            precondition(sqlite3_changes(connection.handle) == 1, "the naive allocator did not insert")
            done(insert)
        }
        connection.exec("COMMIT")
    }
}

// MARK: Measuring

public enum Measure {
    /// Seconds taken by `body`, on the monotonic clock.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = start.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    public static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty)
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Resident memory of this process, in bytes (Linux `/proc/self/statm`).
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A roster CSV of `count` devices, as an MDM would export it.
public func rosterCSV(count: Int, firstIndex: Int = 0) -> [UInt8] {
    var text = "serial_number,name,model,group\n"
    text.reserveCapacity(40 * count + 40)
    for index in firstIndex..<firstIndex + count {
        text += Workload.serial(index)
        text += ",Device \(index),iPad13-16,class-\(index % 50)\n"
    }
    return Array(text.utf8)
}

/// The engine connection's settings, in the form of `RawConnection.pragmas`.
public func pragmas(of database: Database) throws -> String {
    func int(_ sql: String) throws -> Int64 { try database.queryFirst(sql) { $0.int64(0) } ?? -1 }
    let journal = try database.queryFirst("PRAGMA journal_mode") { $0.string(0) } ?? "?"
    return "journal_mode=\(journal) synchronous=\(try int("PRAGMA synchronous")) "
        + "foreign_keys=\(try int("PRAGMA foreign_keys")) cache_size=\(try int("PRAGMA cache_size")) temp_store=\(try int("PRAGMA temp_store"))"
}
