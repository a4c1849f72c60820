// The engine's benchmarks on ordo-one/benchmark: throughput and allocations (mallocs, counted by
// its malloc interposer) per iteration. One iteration is one batch, one roster import or one
// read; the name says how many items that is. Run with
//     swift package --allow-writing-to-package-directory benchmark --target AllotBenchmarks
// ALLOT_BENCH_QUICK=1 uses a 20,000-device tenant instead of the realistic million.
import Allot
import AllotCore
import AllotStore
import Benchmark
import BenchmarkSupport
import Foundation

let quick = ProcessInfo.processInfo.environment["ALLOT_BENCH_QUICK"] != nil
let shape = quick ? Shape(tokens: 3, apps: 20, devices: 20_000) : Shape.realistic

/// The benchmark tool runs each benchmark in its own process, so this state belongs to one
/// benchmark at a time; setup builds it, teardown drops it.
nonisolated(unsafe) var fixture: Fixture?
nonisolated(unsafe) var planning: PlanningWorkload?
nonisolated(unsafe) var engine: EngineRunner?
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-benchmarks-\(getpid())").path

func setUpFixture() throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = "\(directory)/ledger.sqlite"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    fixture = try Fixture(path: path, shape: shape)
}

func tearDown() {
    engine = nil
    fixture?.close()
    fixture = nil
    planning = nil
    try? FileManager.default.removeItem(atPath: directory)
}

let metrics: [BenchmarkMetric] = [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident]

func configuration(iterations: Int = 30, seconds: Int = 10) -> Benchmark.Configuration {
    .init(metrics: metrics, warmupIterations: 1, maxDuration: .seconds(seconds), maxIterations: iterations)
}

let benchmarks: @Sendable () -> Void = {
    // Planning only: the decision ladder over the in-memory ledger (no I/O).
    for size in [1_000, 10_000] where size <= shape.devices {
        Benchmark("planning: assign batch of \(size) items (no I/O)", configuration: configuration(iterations: 1_000)) { benchmark in
            let items = planning!.nextItems()
            benchmark.startMeasurement()
            blackHole(try planning!.plan(items))
            benchmark.stopMeasurement()
        } setup: {
            planning = PlanningWorkload(shape: shape, batchSize: size)
        } teardown: {
            tearDown()
        }
    }

    // Assign batches, durably committed: Workflows.runBatch end to end.
    for size in [100, 1_000, 10_000] where size <= shape.devices {
        Benchmark("assign: batch of \(size) items, committed", configuration: configuration(iterations: size >= 10_000 ? 30 : 200)) { benchmark in
            let items = engine!.nextItems()
            benchmark.startMeasurement()
            try engine!.run(items)
            benchmark.stopMeasurement()
        } setup: {
            try setUpFixture()
            engine = EngineRunner(fixture: fixture!, batchSize: size)
        } teardown: {
            tearDown()
        }
    }

    // Revoke batches: each iteration first assigns a batch (not measured), then revokes it.
    for size in [1_000, 10_000] where size <= shape.devices {
        Benchmark("revoke: batch of \(size) items, committed", configuration: configuration(iterations: size >= 10_000 ? 30 : 200)) { benchmark in
            let items = engine!.nextItems()
            try engine!.run(items)
            benchmark.startMeasurement()
            let outcome = try Workflows(fixture!.ledger!).runBatch(tenant: fixture!.tenant, direction: .revoke, items: items)
            benchmark.stopMeasurement()
            precondition(outcome.counts["revoked"] == items.count)
        } setup: {
            try setUpFixture()
            engine = EngineRunner(fixture: fixture!, batchSize: size)
        } teardown: {
            tearDown()
        }
    }

    // Roster import: the whole roster into a new tenant per iteration.
    let rosterRows = quick ? 20_000 : 1_000_000
    nonisolated(unsafe) var roster: [UInt8] = []
    nonisolated(unsafe) var tenantNumber = 0
    Benchmark("roster import: \(rosterRows) rows CSV", configuration: configuration(iterations: 5, seconds: 30)) { benchmark in
        tenantNumber += 1
        let tenant = try fixture!.ledger!.createTenant(slug: "roster-\(tenantNumber)", name: nil)
        benchmark.startMeasurement()
        let report = try fixture!.ledger!.importRoster(tenant: tenant.id, csv: roster)
        benchmark.stopMeasurement()
        precondition(report.imported == rosterRows)
    } setup: {
        try setUpFixture()
        roster = rosterCSV(count: rosterRows)
    } teardown: {
        tearDown()
        roster = []
    }

    // Reading the merged pools: every app of the tenant with its per-token breakdown.
    Benchmark("merged pools: \(shape.apps) apps × \(shape.tokens) tokens", configuration: configuration(iterations: 1_000)) { _ in
        blackHole(try fixture!.ledger!.mergedPools(tenant: fixture!.tenant.id))
    } setup: {
        try setUpFixture()
    } teardown: {
        tearDown()
    }
}
