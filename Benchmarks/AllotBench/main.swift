// allot-bench: the engine side by side with raw SQLite and a naive allocator, in one process,
// printed as one table (DESIGN.md, Performance). `allot-bench --help` lists the flags.
import Allot
import AllotCore
import AllotStore
import BenchmarkSupport
import Foundation

struct Options {
    var quick = false
    var rounds = 5
    var batchesPerRound = 5
    var scaling = false
    var directory: String?
    /// For profiling (callgrind): run one workload alone and print nothing else.
    var only: String?
    /// `--http-push [N]`: push N assignments over HTTP to the served simulator (HTTPPush.swift).
    var httpPush: Int?
    /// `--sim-calls [N]`: N calls per size to the served simulator at 1k / 100k / 1M assignments (SimCalls.swift).
    var simCalls: Int?
    /// `--fleet-push N[,N…]`: one push for N tokens with 1,000 assignments each (FleetPush.swift).
    var fleetPush: [Int]?
    var fleetSetup = FleetPush.Setup()
    /// `--fleet-push-floor N[,N…]`: only the rows Apple's stand-in must write for that push (FleetPushFloor.swift).
    var fleetPushFloor: [Int]?
    /// `--rollout [N]`: `allot assign --all-devices` end to end on N devices (RollOut.swift).
    var rollOut: Int?
    /// `--postgres URL`: the ledger on PostgreSQL (PostgresBench.swift).
    var postgres: String?

    static let usage = """
        usage: allot-bench [--quick] [--rounds N] [--batches N] [--scaling] [--dir PATH] [--http-push [N]]
          --quick      small sizes, for a CI smoke run (seconds)
          --rounds N   measured rounds per row; medians are reported (default 5; 3 with --quick)
          --batches N  batches per round (default 5; 2 with --quick)
          --scaling    add the rows with 0/1M/10M existing assignments and 1/100/10,000 tenants
          --dir PATH   where the database files go (default: a temporary folder, deleted after)
          --only W     profile one workload alone (planning, engine, limit or roster), e.g. under callgrind
          --postgres URL  only the ledger on PostgreSQL: allocations/s in batches of 10,000 beside the bulk-insert
                       limit and the SQLite engine, 1 node vs 2; then one node of 8 engines (8 connections) while 64
                       tenants send batches of 1,000 at once, beside 1 connection and the limit with 8 (URL: a server's postgres://user@host:port/db; fresh
                       databases are created on it)
          --rollout [N]  only `allot assign --all-devices` end to end on N devices (default 1,000,000;
                       20,000 with --quick): allocations/s and the allot process's peak memory (needs the allot binary)
          --http-push [N]  only the HTTP push check: N assignments (default 100,000; 5,000 with --quick)
                       to the served simulator, paced to Apple's limits; reports the fraction of the allowed rate
          --sim-calls [N]  only the simulator's throughput: N Apple calls over loopback (default 20,000;
                       2,000 with --quick) at 1,000 / 100,000 / 1,000,000 assignments (1,000 / 10,000 / 100,000 with --quick)
          --fleet-push N[,N...]  only the fleet push: N tokens x 1,000 assignments at 150 ms a call (release build;
                       `allot` must be built beside allot-bench), e.g. --fleet-push 10,100
          --proxy SCRIPT   with --fleet-push: the latency proxy to put in front of `allot sim serve`
          --sim-latency    with --fleet-push: `allot sim serve --latency-ms 150` instead of a proxy
          --fleet-push-floor N[,N...]  only the least work the fleet push of N tokens gives Apple's stand-in here
                       (its N x 1,000 assignment rows, nothing else), and the best ratio that leaves, e.g. --fleet-push-floor 1000
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var roundsGiven = false, batchesGiven = false
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let value = rest.popFirst() else { fail("\(flag) needs a value") }
            return value
        }
        /// A comma-separated list of token counts, each 1 to 10,000.
        func tokenCounts(_ flag: String) -> [Int] {
            let counts = value(flag).split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !counts.isEmpty, counts.allSatisfy({ $0.map { (1...10_000).contains($0) } ?? false }) else {
                fail("\(flag) takes token counts 1 to 10000 separated by commas, e.g. 10,100")
            }
            return counts.compactMap { $0 }
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick": options.quick = true
            case "--scaling": options.scaling = true
            case "--rounds":
                guard let n = Int(value(argument)), (1...1_000).contains(n) else { fail("--rounds takes 1 to 1000") }
                options.rounds = n
                roundsGiven = true
            case "--batches":
                guard let n = Int(value(argument)), (1...1_000).contains(n) else { fail("--batches takes 1 to 1000") }
                options.batchesPerRound = n
                batchesGiven = true
            case "--dir": options.directory = value(argument)
            case "--only":
                let name = value(argument)
                guard ["planning", "engine", "limit", "roster"].contains(name) else { fail("--only takes planning, engine, limit or roster") }
                options.only = name
            case "--http-push":
                if let next = rest.first, let n = Int(next) {
                    rest.removeFirst()
                    guard (1...1_000_000).contains(n) else { fail("--http-push takes 1 to 1000000") }
                    options.httpPush = n
                } else {
                    options.httpPush = 0
                }
            case "--sim-calls":
                if let next = rest.first, let n = Int(next) {
                    rest.removeFirst()
                    guard (100...1_000_000).contains(n) else { fail("--sim-calls takes 100 to 1000000") }
                    options.simCalls = n
                } else {
                    options.simCalls = 0
                }
            case "--fleet-push": options.fleetPush = tokenCounts(argument)
            case "--fleet-push-floor": options.fleetPushFloor = tokenCounts(argument)
            case "--proxy": options.fleetSetup.proxyScript = value(argument)
            case "--sim-latency": options.fleetSetup.simulatorLatency = true
            case "--postgres": options.postgres = value(argument)
            case "--rollout":
                if let next = rest.first, let n = Int(next) {
                    rest.removeFirst()
                    guard (1...10_000_000).contains(n) else { fail("--rollout takes 1 to 10000000") }
                    options.rollOut = n
                } else {
                    options.rollOut = 0
                }
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown argument '\(argument)'")
            }
        }
        if options.quick {
            if !roundsGiven { options.rounds = 3 }
            if !batchesGiven { options.batchesPerRound = 2 }
        }
        if options.rollOut == 0 { options.rollOut = options.quick ? 20_000 : 1_000_000 }
        if options.httpPush == 0 { options.httpPush = options.quick ? 5_000 : 100_000 }
        if options.simCalls == 0 { options.simCalls = options.quick ? 2_000 : 20_000 }
        return options
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("allot-bench: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))

/// Sizes: the issue's realistic tenant, or a small one for CI.
let shape = options.quick ? Shape(tokens: 3, apps: 20, devices: 20_000) : Shape.realistic
let batchSize = options.quick ? 1_000 : 10_000
let existingSteps = options.quick ? [0, 20_000, 200_000] : [0, 1_000_000, 10_000_000]
let tenantSteps = options.quick ? [1, 10, 100] : [1, 100, 10_000]
let tenantApps = options.quick ? 10 : 100

let directory: String
let temporary = options.directory == nil
if let given = options.directory {
    try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
    directory = given
} else {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
}
defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }

func databasePath(_ name: String) -> String {
    let path = "\(directory)/\(name).sqlite"
    removeDatabase(path)
    return path
}

func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("· \(message)\n".utf8))
}

func format(_ value: Double) -> String {
    let rounded = Int(value.rounded())
    var digits = String(rounded)
    var groups: [String] = []
    while digits.count > 3 {
        groups.insert(String(digits.suffix(3)), at: 0)
        digits.removeLast(3)
    }
    groups.insert(digits, at: 0)
    return groups.joined(separator: ",")
}

func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }

struct Row {
    let name: String
    let unit: String
    let median: Double
    let low: Double
    let high: Double
    var note = ""
}
var rows: [Row] = []

@MainActor
func row(_ name: String, unit: String, rates: [Double], note: String = "") -> Double {
    let median = Measure.median(rates)
    rows.append(Row(name: name, unit: unit, median: median, low: rates.min()!, high: rates.max()!, note: note))
    log("\(name): \(format(median)) \(unit) (median of \(rates.count))")
    return median
}

let itemsPerRound = batchSize * options.batchesPerRound
log("allot-bench: \(options.quick ? "quick" : "full") run, \(options.rounds) rounds of \(options.batchesPerRound) batches of \(format(Double(batchSize))) in \(directory)")

// MARK: The HTTP push check alone

if let calls = options.simCalls {
    let sizes = options.quick ? [1_000, 10_000, 100_000] : [1_000, 100_000, 1_000_000]
    SimCalls.report(SimCalls.runBlocking(sizes: sizes, calls: calls, directory: directory))
    if options.httpPush == nil {
        if temporary { try? FileManager.default.removeItem(atPath: directory) }
        exit(0)
    }
}
if let count = options.httpPush {
    let (paced, unpaced, probe) = HTTPPush.runBlocking(assignments: count, directory: directory)
    HTTPPush.report(paced: paced, unpaced: unpaced, probe: probe)
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
    exit(0)
}

// MARK: The fleet push alone

if let counts = options.fleetPush {
    guard options.fleetSetup.proxyScript != nil || options.fleetSetup.simulatorLatency else {
        Options.fail("--fleet-push needs --proxy SCRIPT or --sim-latency for its 150 ms a call")
    }
    let runs = FleetPush.runBlocking(tokenCounts: counts, setup: options.fleetSetup, directory: directory)
    FleetPush.report(runs, setup: options.fleetSetup)
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
    exit(0)
}

if let counts = options.fleetPushFloor {
    FleetPushFloor.report(try counts.map { try FleetPushFloor.run(tokens: $0, directory: directory) })
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
    exit(0)
}

// MARK: The ledger on PostgreSQL alone

if let url = options.postgres {
    guard case .postgres(let server) = try LedgerLocation(parsing: url) else { Options.fail("--postgres takes a postgres:// URL") }
    let batches = options.quick ? 2 : 4
    PostgresBench.report(try PostgresBench.run(server: server, batchSize: batchSize, batches: batches, directory: directory), batchSize: batchSize)
    // One node serving many tenants at once: batches of 1,000, as tenants' services send them.
    let nodeTenants = options.quick ? 8 : 64
    PostgresNodeBench.report(try PostgresNodeBench.run(server: server, serverURL: url, connections: 8, tenants: nodeTenants,
                                                       batchSize: 1_000, batches: options.quick ? 1 : 2), batchSize: 1_000)
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
    exit(0)
}

// MARK: The roll-out end to end alone

if let devices = options.rollOut {
    RollOutBench.report(try RollOutBench.run(devices: devices, directory: directory))
    if temporary { try? FileManager.default.removeItem(atPath: directory) }
    exit(0)
}

// MARK: Profiling one workload

if let only = options.only {
    if only == "roster" {
        let roster = rosterCSV(count: shape.devices)
        let path = databasePath("roster")
        let ledger = try Ledger(path: path)
        let tenant = try ledger.createTenant(slug: "roster", name: nil)
        let seconds = try Measure.seconds {
            let report = try ledger.importRoster(tenant: tenant.id, csv: roster)
            precondition(report.imported == shape.devices, "the roster import missed rows")
        }
        print("roster: \(format(Double(shape.devices) / seconds)) rows/s")
        removeDatabase(path)
    } else if only == "planning" {
        var planning = PlanningWorkload(shape: shape, batchSize: batchSize)
        let input = (0..<options.batchesPerRound * options.rounds).map { _ in planning.nextItems() }
        let seconds = try Measure.seconds { for items in input { _ = try planning.plan(items) } }
        print("planning: \(format(Double(batchSize * input.count) / seconds)) items/s")
    } else {
        let fixture = try Fixture(path: databasePath(only), shape: shape)
        if only == "engine" {
            var engine = EngineRunner(fixture: fixture, batchSize: batchSize)
            let input = (0..<options.batchesPerRound * options.rounds).map { _ in engine.nextItems() }
            let seconds = try Measure.seconds { for items in input { try engine.run(items) } }
            print("engine: \(format(Double(batchSize * input.count) / seconds)) allocations/s")
        } else {
            fixture.close()
            let limit = LimitRunner(fixture: fixture, batchSize: batchSize)
            let input = (0..<options.batchesPerRound * options.rounds).map { _ in limit.nextBatch() }
            let seconds = Measure.seconds { for batch in input { limit.run(batch) } }
            print("limit: \(format(Double(batchSize * input.count) / seconds)) rows/s")
            limit.close()
        }
        removeDatabase(fixture.path)
    }
    exit(0)
}

// MARK: Comparison: engine, limit, naive

log("building 4 databases of \(format(Double(shape.devices))) devices, \(shape.apps) apps, \(shape.tokens) tokens")
let engineFixture = try Fixture(path: databasePath("engine"), shape: shape)
let limitFixture = try Fixture(path: databasePath("limit"), shape: shape)
limitFixture.close()
let naiveFixture = try Fixture(path: databasePath("naive"), shape: shape)
naiveFixture.close()
let naiveCachedFixture = try Fixture(path: databasePath("naive-cached"), shape: shape)
naiveCachedFixture.close()

var engine = EngineRunner(fixture: engineFixture, batchSize: batchSize)
let limit = LimitRunner(fixture: limitFixture, batchSize: batchSize)
let naive = NaiveRunner(fixture: naiveFixture, batchSize: batchSize, cachedStatements: false)
let naiveCached = NaiveRunner(fixture: naiveCachedFixture, batchSize: batchSize, cachedStatements: true)
let enginePragmas = try pragmas(of: engineFixture.ledger!.sqlite!)
precondition(enginePragmas == limit.pragmas, "the limit's pragmas differ from the engine's: \(enginePragmas) / \(limit.pragmas)")
log("pragmas, engine and limit alike: \(enginePragmas)")

// One unmeasured batch each: statements prepared, caches warm.
try engine.run(engine.nextItems())
limit.run(limit.nextBatch())
naive.run(naive.nextItems())
naiveCached.run(naiveCached.nextItems())

var engineRates: [Double] = [], limitRates: [Double] = [], naiveRates: [Double] = [], naiveCachedRates: [Double] = []
var engineBatches: [[BatchItem]] = []
for round in 1...options.rounds {
    // The four take turns within a round, so a noisy neighbour hits them alike.
    let engineInput = (0..<options.batchesPerRound).map { _ in engine.nextItems() }
    engineRates.append(Double(itemsPerRound) / (try Measure.seconds { for items in engineInput { try engine.run(items) } }))
    engineBatches += engineInput
    let limitInput = (0..<options.batchesPerRound).map { _ in limit.nextBatch() }
    limitRates.append(Double(itemsPerRound) / Measure.seconds { for batch in limitInput { limit.run(batch) } })
    let naiveInput = (0..<options.batchesPerRound).map { _ in naive.nextItems() }
    naiveRates.append(Double(itemsPerRound) / Measure.seconds { for batch in naiveInput { naive.run(batch) } })
    let cachedInput = (0..<options.batchesPerRound).map { _ in naiveCached.nextItems() }
    naiveCachedRates.append(Double(itemsPerRound) / Measure.seconds { for batch in cachedInput { naiveCached.run(batch) } })
    log("round \(round): engine \(format(engineRates.last!)), limit \(format(limitRates.last!)), naive \(format(naiveRates.last!)), naive cached \(format(naiveCachedRates.last!)) items/s")
}
let engineRate = row("engine: assign, batches of \(format(Double(batchSize))), Workflows.runBatch", unit: "allocations/s", rates: engineRates)
let limitRate = row("limit: raw C-API prepared INSERT, same table, 1 txn per \(format(Double(batchSize)))", unit: "rows/s", rates: limitRates)
let naiveRate = row("naive: per item SELECT pool + UPDATE pool + INSERT (statements prepared per use)", unit: "allocations/s", rates: naiveRates)
let naiveCachedRate = row("naive, cached statements (a stronger floor)", unit: "allocations/s", rates: naiveCachedRates)

// Revoke what the engine assigned, batch by batch.
var revokeRates: [Double] = []
let revokeRounds = engineBatches.chunked(options.batchesPerRound)
for input in revokeRounds {
    revokeRates.append(Double(itemsPerRound) / (try Measure.seconds {
        for items in input {
            let outcome = try Workflows(engineFixture.ledger!).runBatch(tenant: engineFixture.tenant, direction: .revoke, items: items)
            precondition(outcome.counts["revoked"] == items.count, "a revoke batch did not revoke every item")
        }
    }))
}
_ = row("engine: revoke, batches of \(format(Double(batchSize)))", unit: "revocations/s", rates: revokeRates)

// Merged pools: the whole app list of the tenant (200 apps × 3 tokens).
var poolRates: [Double] = []
for _ in 1...options.rounds {
    let reads = options.quick ? 50 : 200
    poolRates.append(Double(reads) / (try Measure.seconds {
        for _ in 0..<reads {
            let pools = try engineFixture.ledger!.mergedPools(tenant: engineFixture.tenant.id)
            precondition(pools.count == shape.apps)
        }
    }))
}
_ = row("engine: merged pools of \(shape.apps) apps × \(shape.tokens) tokens", unit: "reads/s", rates: poolRates)
engineFixture.close()
limit.close()
naive.close()
naiveCached.close()
for path in [engineFixture.path, limitFixture.path, naiveFixture.path, naiveCachedFixture.path] { removeDatabase(path) }

// MARK: Planning and roster import

var planning = PlanningWorkload(shape: shape, batchSize: batchSize)
_ = try planning.plan(planning.nextItems())
var planningRates: [Double] = []
for _ in 1...options.rounds {
    let input = (0..<options.batchesPerRound).map { _ in planning.nextItems() }
    planningRates.append(Double(itemsPerRound) / (try Measure.seconds {
        for items in input {
            let assigned = try planning.plan(items)
            precondition(assigned == items.count)
        }
    }))
}
_ = row("planning only (BatchPlanner, in-memory ledger, no I/O)", unit: "items/s", rates: planningRates)

let rosterRows = shape.devices
let roster = rosterCSV(count: rosterRows)
var rosterRates: [Double] = []
for round in 1...max(1, min(options.rounds, 3)) {
    let path = databasePath("roster-\(round)")
    let ledger = try Ledger(path: path)
    let tenant = try ledger.createTenant(slug: "roster", name: nil)
    rosterRates.append(Double(rosterRows) / (try Measure.seconds {
        let report = try ledger.importRoster(tenant: tenant.id, csv: roster)
        precondition(report.imported == rosterRows, "the roster import missed rows")
    }))
    removeDatabase(path)
}
_ = row("roster import: \(format(Double(rosterRows))) rows CSV into a new tenant", unit: "rows/s", rates: rosterRates)

// MARK: Scaling

var scalingLines: [String] = []
if options.scaling {
    var residentAtZero = 0
    for existing in existingSteps {
        log("existing \(format(Double(existing))) assignments: building")
        let fixture = try Fixture(path: databasePath("existing-\(existing)"), shape: shape)
        let appsUsed = try fixture.fillAssignments(existing)
        var runner = EngineRunner(fixture: fixture, batchSize: batchSize, startApp: appsUsed)
        try runner.run(runner.nextItems())
        var rates: [Double] = []
        for _ in 1...options.rounds {
            let input = (0..<options.batchesPerRound).map { _ in runner.nextItems() }
            rates.append(Double(itemsPerRound) / (try Measure.seconds { for items in input { try runner.run(items) } }))
        }
        let resident = Measure.residentBytes()
        if existing == 0 { residentAtZero = resident }
        _ = row("engine with \(format(Double(existing))) assignments already in the database", unit: "allocations/s", rates: rates,
                note: "RSS \(resident / 1_048_576) MiB")
        if existing == existingSteps.last! {
            let perMillion = Double(resident - residentAtZero) / 1_048_576 / (Double(existing) / 1_000_000)
            scalingLines.append("Resident memory: \(resident / 1_048_576) MiB with \(format(Double(existing))) assignments, "
                + "\(residentAtZero / 1_048_576) MiB with none: \(String(format: "%.1f", perMillion)) MiB per million assignments.")
            // Open the database cold (in this process) and serve the first batch.
            fixture.close()
            let items = runner.nextItems()
            let seconds = try Measure.seconds {
                let ledger = try fixture.reopen()
                let tenant = try ledger.requireTenant(slug: fixture.tenant.slug)
                let outcome = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: items)
                precondition(outcome.counts["assigned"] == items.count)
            }
            scalingLines.append("Open a database holding \(format(Double(existing))) assignments and serve the first batch of "
                + "\(format(Double(batchSize))): \(String(format: "%.3f", seconds)) s (the file in the OS page cache).")
        }
        fixture.close()
        removeDatabase(fixture.path)
    }
    for count in tenantSteps {
        log("\(format(Double(count))) tenants: building")
        let path = databasePath("tenants-\(count)")
        let tenants = try TenantsDatabase(path: path, tenants: count, totalDevices: shape.devices, apps: tenantApps, batchSize: batchSize)
        try tenants.run(tenants.nextBatch())
        var rates: [Double] = []
        for _ in 1...options.rounds {
            let input = (0..<options.batchesPerRound).map { _ in tenants.nextBatch() }
            rates.append(Double(itemsPerRound) / (try Measure.seconds { for batch in input { try tenants.run(batch) } }))
        }
        _ = row("engine with \(format(Double(count))) tenants (batches round-robin, \(tenantApps) apps × \(batchSize / tenantApps) devices)",
                unit: "allocations/s", rates: rates, note: "\(format(Double(tenants.devicesPerTenant))) devices per tenant")
        removeDatabase(path)
    }
}

// MARK: The table

print("")
print("| benchmark | median | unit | min – max | note |")
print("| --- | ---: | --- | --- | --- |")
for row in rows {
    print("| \(row.name) | \(format(row.median)) | \(row.unit) | \(format(row.low)) – \(format(row.high)) | \(row.note) |")
}
print("")
print("| ratio | median |")
print("| --- | ---: |")
print("| engine / limit | \(ratio(engineRate / limitRate)) |")
print("| engine / naive | \(ratio(engineRate / naiveRate)) |")
print("| engine / naive, cached statements | \(ratio(engineRate / naiveCachedRate)) |")
if !scalingLines.isEmpty {
    print("")
    for line in scalingLines { print(line) }
}
print("")
print("\(options.rounds) rounds of \(options.batchesPerRound) batches of \(format(Double(batchSize))); devices \(format(Double(shape.devices))), apps \(shape.apps), tokens \(shape.tokens); \(ProcessInfo.processInfo.activeProcessorCount) cores; SQLite \(sqliteVersion())")

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
