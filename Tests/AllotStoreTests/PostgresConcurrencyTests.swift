import Allot
import AllotCore
import AllotStore
import Foundation
import Testing

/// Issue 13, point 2: what SQLite's one writer never had to face. Several connections (nodes)
/// decide batches for one tenant and pool at once on one PostgreSQL database: the pool is never
/// over-allocated, an idempotency key holds across them, and every answered batch is present.
@Suite(.enabled(if: TestPostgres.server != nil, "no PostgreSQL for the tests (see the note above); set ALLOT_TEST_POSTGRES_URL or install PostgreSQL"), .timeLimit(.minutes(6)))
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
                    let outcome = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: items, idempotencyKey: key)
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
            let outcome = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: serials.map { BatchItem(asset: app, serial: $0) },
                                              idempotencyKey: "the-one-key")
            answers.mutate { $0.append(outcome) }
        }
        #expect(answers.value.count == 6)
        #expect(Set(answers.value.map(\.batchId)).count == 1)
        #expect(try f.count("batches") == 1)
        #expect(try f.pool(token, app)?.here == 3)
        #expect(try ledgerInvariantViolations(f.ledger.database) == [])
    }

    /// Resolving a token's over-allocation on one connection while another assigns and revokes
    /// the same app for the same tenant, the destination token nearly full, 200 rounds: the
    /// resolve's moves and the batches take the spare licences in turn (the tenant's lock), so
    /// no pool ever holds more than its total, no device holds the app twice, no writer crashes
    /// and the counters match their rows.
    @Test(.timeLimit(.minutes(6))) func resolvingWhileBatchesAssignNeverTakesAPoolAboveItsTotal() async throws {
        // Half a minute of blocking PostgreSQL calls (over three on a loaded machine): on a thread of its own, not one of the
        // few that run every other test's async work (servers starting, simulators answering).
        let problems = try await onOwnThread { try Self.raceResolveAgainstBatches(app: AssetKey(adamId: "361309726")) }
        #expect(problems == [])
    }

    /// The rounds of the race; what went wrong, round by round (asserted by the caller: off the
    /// test's task, an expectation would be nobody's).
    static func raceResolveAgainstBatches(app: AssetKey) throws -> [String] {
        var problems: [String] = []
        let f = try LedgerFixture(.postgres)
        let tenant = try f.tenant("springfield")
        let over = try f.token(tenant, uid: "1001")
        let spare = try f.token(tenant, uid: "1002")
        let holders = try f.devices(tenant, prefix: "HOLD", count: 6)
        let racers = try f.devices(tenant, prefix: "RACE", count: 4)
        let location = f.postgres!, clock = f.clock.closure
        // One connection each, kept across the rounds (as two nodes keep theirs).
        let nodes = try NodeLedgers((0..<2).map { _ in try Ledger(database: try PostgresLedgerDatabase(location), clock: clock) })
        for round in 0..<200 {
            // Six on the first token, then Apple's total there falls to 3; the second token has
            // 2 free licences, which the resolve's moves and the racing batches both want.
            try f.snapshot(tenant, over, [(app, total: 6, apple: 0)])
            try f.snapshot(tenant, spare, [(app, total: 0, apple: 0)])
            _ = try f.assign(tenant, app, holders)
            try f.snapshot(tenant, over, [(app, total: 3, apple: 0)])
            try f.snapshot(tenant, spare, [(app, total: 2, apple: 0)])
            try runConcurrently(2) { writer in
                let ledger = nodes.ledgers[writer]
                if writer == 0 {
                    _ = try Workflows(ledger).resolveOverAllocation(tenant: tenant, token: over, asset: app, keepGroup: nil, dryRun: false)
                } else {
                    let items = racers.map { BatchItem(asset: app, serial: $0) }
                    _ = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: Array(items.prefix(2)))
                    _ = try Workflows(ledger).runBatch(tenant: tenant, direction: .revoke, items: Array(items.prefix(1)))
                    _ = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: Array(items.suffix(2)))
                }
            }
            // The resolve gave back the first token's excess; the second never went above its total.
            for token in [over, spare] {
                guard let pool = try f.pool(token, app) else { problems.append("round \(round): token \(token) has no pool"); continue }
                if pool.here > pool.total { problems.append("round \(round): token \(token) holds \(pool.here) of \(pool.total)") }
            }
            let twice = try f.ledger.database.query(
                "SELECT count(*) FROM assignments GROUP BY tenant_id, asset_id, device_id HAVING count(*) > 1") { $0.int(0) }
            if !twice.isEmpty { problems.append("round \(round): a device holds the app twice") }
            problems += try ledgerInvariantViolations(f.ledger.database).map { "round \(round): \($0)" }
            if !problems.isEmpty { break }
            // Everything back for the next round, Apple told (the outbox stays small).
            _ = try f.revoke(tenant, app, holders + racers)
            try f.ledger.database.run("UPDATE outbox SET state = ? WHERE state <> ?", [.text(OutboxState.done.rawValue), .text(OutboxState.done.rawValue)])
        }
        return problems
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

/// Runs blocking work (the ledger's calls block their thread) on a thread of its own and awaits
/// it, so a long test does not hold one of the few threads Swift's concurrency runs every test's
/// async work on (two on a 2-core machine: two blocking tests starve every server test).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Ledgers of several nodes, each used by one thread at a time only.
final class NodeLedgers: @unchecked Sendable {
    let ledgers: [Ledger]
    init(_ ledgers: [Ledger]) { self.ledgers = ledgers }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
