import AllotCore
import AllotStore
import Foundation
import Testing

/// Issue 13, point 2: what SQLite's one writer never had to face. Several connections (nodes)
/// decide batches for one tenant and pool at once on one PostgreSQL database: the pool is never
/// over-allocated, an idempotency key holds across them, and every answered batch is present.
@Suite(.enabled(if: TestPostgres.server != nil, "no PostgreSQL for the tests (see the note above); set ALLOT_TEST_POSTGRES_URL or install PostgreSQL"))
struct PostgresConcurrencyTests {
    let app = AssetKey(adamId: "361309726")
    /// Writers racing, each on its own connection, as on separate nodes.
    static let writers = 12
    static let licences = 20
    static let batchesPerWriter = 4
    static let serialsPerBatch = 5

    @Test func twelveWritersRacingForOnePoolAssignExactlyItsLicencesAndEveryAnsweredBatchIsPresent() throws {
        let f = try LedgerFixture(.postgres)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: Self.licences, apple: 0)])
        let serials = try f.devices(tenant, prefix: "RACE", count: Self.writers * Self.batchesPerWriter * Self.serialsPerBatch)
        let answers = Locked<[BatchOutcome]>([])
        let failures = Locked<[String]>([])
        let location = f.postgres!, clock = f.clock.closure, app = app
        try runConcurrently(Self.writers) { writer in
            let ledger = try Ledger(database: try PostgresLedgerDatabase(location), clock: clock)
            for batch in 0..<Self.batchesPerWriter {
                // Every odd writer also sends its neighbour's first batch again, with its key (a
                // retry reaching another node): one of the two answers wins, both see it.
                let retry = batch == 0 && writer % 2 == 1
                let start = ((retry ? writer - 1 : writer) * Self.batchesPerWriter + batch) * Self.serialsPerBatch
                let items = serials[start..<start + Self.serialsPerBatch].map { BatchItem(asset: app, serial: $0) }
                let key = retry ? "batch-\(writer - 1)-0" : "batch-\(writer)-\(batch)"
                do {
                    let outcome = try ledger.runBatch(tenant: tenant, direction: .assign, items: items, idempotencyKey: key)
                    answers.mutate { $0.append(outcome) }
                } catch {
                    failures.mutate { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.value == [])
        #expect(try f.pool(token, app)?.here == Self.licences)
        #expect(try f.count("assignments") == Self.licences)
        let assigned = answers.value.flatMap(\.items).filter { $0.result == .assigned }
        // Items answered `assigned` twice are the repeated key's two identical answers.
        #expect(Set(assigned.map(\.serialNumber)).count == Self.licences)
        let held = Set(try f.ledger.database.query("SELECT d.serial FROM assignments a JOIN devices d ON d.id = a.device_id") { $0.string(0) })
        #expect(held == Set(assigned.map(\.serialNumber)))
        // Every committed answer is a batch in the ledger, once per key.
        let batchIds = Set(answers.value.compactMap(\.batchId))
        #expect(try f.count("batches", where: "kind = 'assign'") == batchIds.count)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test func aBatchWhoseConnectionTheServerDroppedRunsWholeOnANewConnection() throws {
        let f = try LedgerFixture(.postgres)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "DROP", count: 4)
        // As a restarted server or a failed-over proxy would: every connection to this database goes.
        let admin = try PostgresLedgerDatabase(TestPostgres.server!)
        let dropped = try admin.query("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()
            """, [.text(f.postgres!.database)]) { $0.bool(0) }
        #expect(dropped.contains(true))
        let outcome = try f.assign(tenant, app, serials)
        #expect(outcome.items.allSatisfy { $0.result == .assigned })
        #expect(try f.pool(token, app)?.here == 4)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    @Test func oneIdempotencyKeySentThroughSixConnectionsAtOnceIsAppliedOnce() throws {
        let f = try LedgerFixture(.postgres)
        let tenant = try f.tenant("springfield")
        let token = try f.token(tenant, uid: "1001")
        try f.snapshot(tenant, token, [(app, total: 10, apple: 0)])
        let serials = try f.devices(tenant, prefix: "SAME", count: 3)
        let answers = Locked<[BatchOutcome]>([])
        let location = f.postgres!, clock = f.clock.closure, app = app
        try runConcurrently(6) { _ in
            let ledger = try Ledger(database: try PostgresLedgerDatabase(location), clock: clock)
            let outcome = try ledger.runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: app, serial: $0) },
                                              idempotencyKey: "the-one-key")
            answers.mutate { $0.append(outcome) }
        }
        #expect(answers.value.count == 6)
        #expect(Set(answers.value.map(\.batchId)).count == 1)
        #expect(try f.count("batches") == 1)
        #expect(try f.pool(token, app)?.here == 3)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }
}

/// Runs `body` on `count` threads at once (each its own connection: the Ledger is not Sendable)
/// and rethrows the first error.
func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let group = DispatchGroup()
    let errors = Locked<[any Error]>([])
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            do { try body(index) } catch { errors.mutate { $0.append(error) } }
        }
        thread.start()
    }
    group.wait()
    if let first = errors.value.first { throw first }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
