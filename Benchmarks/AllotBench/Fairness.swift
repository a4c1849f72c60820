// `allot-bench --fairness [N]`: how long a small tenant's new work waits behind another
// tenant's huge delivery. One tenant's N devices (default 300,000) are being delivered by
// `allot serve`'s outbox worker while 5 other tenants each assign one device over the HTTP API;
// each small assignment is timed from its HTTP request until Apple holds it. The goal: each
// within 1.0 s (a send and its poll at 150 ms a call: about 0.3 s until allot knows, and Apple
// holds it from the poll's arrival, half-way), and the big
// delivery at 0.8x or more of the rate Apple allows one token.
//
// Everything is a real process on loopback: `allot sim serve --latency-ms 150` (Apple's
// per-token request rate enforced, as by default) and `allot serve` on a SQLite ledger in a
// temporary folder, set up through the HTTP API alone (so any `allot` binary can be measured,
// whatever its ledger's schema). `--allot A,B` measures several binaries in one session, taking
// turns, since this machine is shared and noisy; the simulator is always the first binary's.
import AllotCore
import AppleAppsAndBooks
import AppleHTTPClient
import BenchmarkSupport
import Foundation

enum Fairness {
    static let app = AssetKey(adamId: "361309726")
    static let latencyMs = 150
    static let bigLocation = "3000"
    static let smallTenants = 5
    static let startupSecondsMax = 60.0
    /// A small assignment not held by then counts as never held (the table says so).
    static let smallSecondsMax = 120.0
    /// How often the small assignments are looked for at Apple: the timing's resolution.
    static let smallPollMilliseconds = 20
    /// The big delivery counts as stopped when Apple's count has not grown for this long
    /// (above the worker's 30 s between polls of an unfinished event).
    static let stallSecondsMax = 60.0
    /// How often the big delivery's count is read.
    static let bigPollMilliseconds = 100

    struct Binary: Sendable {
        let path: String
        let label: String
        /// Its place in `--allot`: the table's order (one binary may be given twice, to see the noise).
        let index: Int
    }

    struct Setup: Sendable {
        var binaries: [Binary] = []
        var devices = 300_000
        var rounds = 1
        /// How long the big delivery runs before the small tenants assign: past its first
        /// operation, so the worker is busy with it, not starting up.
        var runningSecondsBefore = 3.0
        /// Commit the big roll-out over HTTP while the worker runs (`--big-over-http`), instead
        /// of with the CLI while `allot serve` is stopped.
        var bigOverHTTP = false
    }

    struct Run {
        let binary: Binary
        let round: Int
        let devices: Int
        /// What was measured while the big delivery ran.
        let during: DuringBigDelivery
        /// Each small tenant alone before the big delivery began, from its HTTP request until
        /// Apple held its assignment (nil: not within `smallSecondsMax`): the floor.
        let floorHeld: [Double?]
        /// Committing the big roll-out's N decisions (its HTTP request, or the CLI's `assign --no-push`).
        let rollOutSeconds: Double
        let limits: ServiceLimits
        /// `allot serve`'s user + system CPU over the big delivery.
        let cpuSeconds: Double

        var allowedRate: Double { Fairness.allowedRate(limits) }
        var ratio: Double { during.bigRate / allowedRate }
    }

    /// The rate one token allows: `maxRequestPerSecond` calls a second, each operation at best
    /// one send of `maxSerialNumbers` serials and one status poll (two calls).
    static func allowedRate(_ limits: ServiceLimits) -> Double {
        Double(limits.maxRequestPerSecond) / 2 * Double(limits.maxSerialNumbers)
    }

    static func smallLocation(_ index: Int) -> String { String(3_000 + index) }
    static func smallSlug(_ index: Int) -> String { "small-\(index)" }
    static func bigSerial(_ index: Int) -> String { "FAB" + String(format: "%09d", index) }
    /// The device each small tenant assigns alone (the floor), and the one during the big delivery.
    static func floorSerial(_ index: Int) -> String { "SMF\(index)" + String(format: "%08d", 1) }
    static func smallSerial(_ index: Int) -> String { "SMN\(index)" + String(format: "%08d", 1) }

    static func seed(devices: Int) -> String {
        func location(_ uId: String, total: Int) -> String {
            """
            {"uId": "\(uId)", "locationName": "Fairness \(uId)", "orgName": "Fairness Schools", "expires": "2099-01-01T00:00:00Z", "mdmInfo": null,
             "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \(total), "deviceAssignable": true, "revocable": true}]}
            """
        }
        let locations = [location(bigLocation, total: devices)] + (1...smallTenants).map { location(smallLocation($0), total: 10) }
        return "{\"locations\": [\(locations.joined(separator: ",\n"))]}"
    }

    static func runBlocking(setup: Setup, directory: String) -> [Run] {
        blocking("--fairness") {
            var runs: [Run] = []
            for round in 1...setup.rounds {
                for binary in setup.binaries {
                    let folder = URL(fileURLWithPath: "\(directory)/fairness-\(round)-\(runs.count)")
                    runs.append(try await run(binary: binary, round: round, setup: setup, folder: folder))
                    try? FileManager.default.removeItem(at: folder)
                }
            }
            return runs
        }
    }

    static func run(binary: Binary, round: Int, setup: Setup, folder: URL) async throws -> Run {
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let children = ChildProcesses()
        defer { children.reapAll() }
        let simulatorBinary = setup.binaries[0].path
        let statePath = folder.appendingPathComponent("sim.sqlite").path
        let tokens = folder.appendingPathComponent("tokens").path
        let seedPath = folder.appendingPathComponent("seed.json")
        try Data(seed(devices: setup.devices).utf8).write(to: seedPath)
        log("fairness \(binary.label) round \(round): the simulator, allot serve, \(smallTenants + 1) tenants")
        try children.run(simulatorBinary, ["sim", "init", "--seed", seedPath.path, "--state", statePath, "--tokens-dir", tokens, "--json"],
                         folder: folder, name: "sim-init")
        let simulator = try children.start(simulatorBinary, ["sim", "serve", "--state", statePath, "--port", "0", "--json",
                                                             "--latency-ms", String(latencyMs)], folder: folder, name: "sim-serve")
        let simulatorURL = try await baseURL(printedIn: folder.appendingPathComponent("sim-serve.out"), by: simulator)
        let limits = try await FleetPush.waitForApple(AppleHTTPClient(baseURL: simulatorURL))

        // A fresh admin key for this run only, handed over in the environment, never printed.
        let adminKey = "bench-" + UUID().uuidString + UUID().uuidString
        let database = folder.appendingPathComponent("allot.sqlite").path
        /// `allot serve` on a free port, answering /healthz.
        func startServe(_ name: String) async throws -> (Process, AllotAPI) {
            let port = try FleetPush.freePort()
            let serve = try children.start(binary.path, ["serve", "--db", database, "--port", String(port), "--apple", simulatorURL,
                                                         "--sync-interval", "1d"],
                                           folder: folder, name: name, environment: ["ALLOT_ADMIN_KEY": adminKey])
            let api = AllotAPI(baseURL: "http://127.0.0.1:\(port)")
            try await api.waitUntilHealthy(seconds: startupSecondsMax) { serve.isRunning }
            return (serve, api)
        }
        var (serve, api) = try await startServe("serve")

        let bigKey = try await addTenant(api, adminKey: adminKey, slug: "big", location: bigLocation, tokens: tokens,
                                         serials: (1...setup.devices).map(bigSerial))
        var smallKeys: [String] = []
        for index in 1...smallTenants {
            smallKeys.append(try await addTenant(api, adminKey: adminKey, slug: smallSlug(index), location: smallLocation(index),
                                                 tokens: tokens, serials: [floorSerial(index), smallSerial(index)]))
        }
        let holdings = SimulatorHoldings(statePath: statePath, adamId: app.adamId, otherLocations: (1...smallTenants).map(smallLocation))

        // The floor: each small tenant alone, one after the other, nothing else delivering.
        log("fairness \(binary.label) round \(round): the floor (each small tenant alone)")
        var floor: [Double?] = []
        for index in 1...smallTenants {
            let started = ContinuousClock.now
            _ = try await assignOne(api, key: smallKeys[index - 1], slug: smallSlug(index), serial: floorSerial(index))
            floor.append(try await heldAfter(holdings, location: smallLocation(index), serial: floorSerial(index), since: started))
        }

        // The big delivery: one roll-out to every device; `allot serve`'s worker delivers it.
        var cpuBefore = FleetPush.childCPUSeconds(serve.processIdentifier)
        var bigStart = ContinuousClock.now
        var rollOut: Task<Double, any Error>?
        var committedSeconds: Double?
        if setup.bigOverHTTP {
            log("fairness \(binary.label) round \(round): rolling out to \(format(Double(setup.devices))) devices over HTTP, the worker running")
            rollOut = Task { [api, bigStart] in
                let answer = try await api.post("/v1/tenants/big/assignments", key: bigKey, json: ["app": app.adamId, "allDevices": true],
                                                timeoutSeconds: 3_600)
                let object = try api.expect(200, answer, "the big roll-out")
                let assigned = (object["counts"] as? [String: Any])?["assigned"] as? Int ?? 0
                guard assigned == setup.devices else { throw BenchError("the big roll-out assigned \(assigned) of \(setup.devices)") }
                return (ContinuousClock.now - bigStart).inSeconds
            }
        } else {
            // Committed whole while no worker runs, then `allot serve` starts again and finds it
            // in the outbox: the delivery measured is of a batch fully committed.
            log("fairness \(binary.label) round \(round): rolling out to \(format(Double(setup.devices))) devices with the CLI, serve stopped")
            children.stop(serve)
            let committing = ContinuousClock.now
            try children.run(binary.path, ["assign", "--db", database, "--tenant", "big", "--app", app.adamId, "--all-devices", "--no-push", "--json"],
                             folder: folder, name: "assign")
            committedSeconds = (ContinuousClock.now - committing).inSeconds
            bigStart = ContinuousClock.now
            (serve, api) = try await startServe("serve-again")
            cpuBefore = 0
        }
        do {
            let measured = try await measureDuring(api: api, holdings: holdings, smallKeys: smallKeys, setup: setup, limits: limits,
                                                   bigStart: bigStart, serve: serve)
            let cpuSeconds = FleetPush.childCPUSeconds(serve.processIdentifier) - cpuBefore
            let rollOutSeconds = try await rollOut?.value ?? committedSeconds ?? 0
            let verified = holdings.verify(location: bigLocation)
            guard verified == measured.bigHeld else {
                throw BenchError("the simulator's rows are not what max(id) counted (\(verified) vs \(measured.bigHeld)): the shortcut needs a real count")
            }
            log("fairness \(binary.label) round \(round): small held after \(measured.smallHeld.map { $0.map { String(format: "%.2f", $0) } ?? "-" }), "
                + "big \(format(measured.bigRate))/s, \(format(Double(measured.bigHeld))) held")
            return Run(binary: binary, round: round, devices: setup.devices, during: measured, floorHeld: floor, rollOutSeconds: rollOutSeconds, limits: limits, cpuSeconds: cpuSeconds)
        } catch {
            rollOut?.cancel()
            throw error
        }
    }

    struct DuringBigDelivery {
        /// From each small tenant's HTTP request until Apple held its assignment (nil: not
        /// within `smallSecondsMax`).
        var smallHeld: [Double?]
        /// How long each small assignment's HTTP request took to answer.
        var smallAnswered: [Double]
        /// Small assignments held while Apple still lacked some of the big delivery.
        var heldDuringBigDelivery: Int
        /// The big delivery's assignments Apple held when the small tenants sent theirs.
        var bigAtSmallRequests: Int
        /// From the big delivery's start (the roll-out's request, or `allot serve` starting with
        /// it committed) until Apple held all of it, or held the last it did.
        var bigSeconds: Double
        /// Apple's holdings of the big tenant per second, from the first held until all were.
        var bigRate: Double
        var bigHeld: Int
    }

    /// Waits until the big delivery runs, has the small tenants assign together, times them,
    /// then follows the big delivery to its end. Every wait is bounded.
    static func measureDuring(api: AllotAPI, holdings: SimulatorHoldings, smallKeys: [String], setup: Setup, limits: ServiceLimits,
                              bigStart: ContinuousClock.Instant, serve: Process) async throws -> DuringBigDelivery {
        // Ten times the allowed time, and never under five minutes: a slow build still ends.
        let bigSecondsMax = max(300, 10 * Double(setup.devices) / allowedRate(limits))
        let clock = ContinuousClock()
        func overdue() -> Bool { (clock.now - bigStart).inSeconds > bigSecondsMax || !serve.isRunning }

        var firstHeld: (at: ContinuousClock.Instant, count: Int)?
        while firstHeld == nil {
            let count = holdings.count()
            if count > 0 { firstHeld = (clock.now, count) }
            if overdue() { throw BenchError("Apple held none of the big delivery after \(Int(bigSecondsMax)) s") }
            try await Task.sleep(for: .milliseconds(bigPollMilliseconds))
        }
        let waitUntil = firstHeld!.at + .milliseconds(Int(setup.runningSecondsBefore * 1_000))
        if clock.now < waitUntil { try await Task.sleep(until: waitUntil, clock: clock) }
        let bigAtSmallStart = holdings.count()
        if bigAtSmallStart >= setup.devices {
            log("fairness: the big delivery ended before the small tenants assigned; use more devices")
        }

        log("fairness: the big delivery runs (\(format(Double(bigAtSmallStart))) held); \(smallTenants) small tenants assign one device each")
        let smallStart = clock.now
        let answered = Task {
            try await withThrowingTaskGroup(of: (Int, Double).self) { group in
                for index in 1...smallTenants {
                    group.addTask {
                        let seconds = try await assignOne(api, key: smallKeys[index - 1], slug: smallSlug(index), serial: smallSerial(index))
                        return (index, seconds)
                    }
                }
                var seconds = [Double](repeating: 0, count: smallTenants)
                for try await (index, answer) in group { seconds[index - 1] = answer }
                return seconds
            }
        }
        var smallHeld = [Double?](repeating: nil, count: smallTenants)
        var heldDuring = 0
        var lastBigRead = clock.now
        var bigCount = bigAtSmallStart
        var allHeld: ContinuousClock.Instant?
        func readBig() {
            bigCount = holdings.count()
            lastBigRead = clock.now
            if bigCount >= setup.devices && allHeld == nil { allHeld = lastBigRead }
        }
        // The small ones every 20 ms (the big count with them, every 100 ms), until all are held.
        while smallHeld.contains(where: { $0 == nil }) && (clock.now - smallStart).inSeconds < smallSecondsMax && serve.isRunning {
            for index in 1...smallTenants where smallHeld[index - 1] == nil {
                if holdings.holds(location: smallLocation(index), serial: smallSerial(index)) {
                    smallHeld[index - 1] = (clock.now - smallStart).inSeconds
                    // Read the big count at this moment: was its delivery still running?
                    readBig()
                    if bigCount < setup.devices { heldDuring += 1 }
                }
            }
            if (clock.now - lastBigRead).inSeconds * 1_000 >= Double(bigPollMilliseconds) { readBig() }
            try await Task.sleep(for: .milliseconds(smallPollMilliseconds))
        }
        let smallAnswered = try await answered.value

        // Then the big delivery to its end, or until it stops growing (an operation Apple refused
        // stays undelivered: the table shows how much was held).
        var lastGrowth = (at: clock.now, count: bigCount)
        while allHeld == nil {
            if overdue() || (clock.now - lastGrowth.at).inSeconds > stallSecondsMax {
                log("fairness: the big delivery stopped at \(format(Double(bigCount))) of \(format(Double(setup.devices))) held")
                break
            }
            try await Task.sleep(for: .milliseconds(bigPollMilliseconds))
            readBig()
            if bigCount > lastGrowth.count { lastGrowth = (clock.now, bigCount) }
        }
        let first = firstHeld!
        let end = allHeld ?? lastGrowth.at
        return DuringBigDelivery(smallHeld: smallHeld, smallAnswered: smallAnswered, heldDuringBigDelivery: heldDuring,
                                 bigAtSmallRequests: bigAtSmallStart, bigSeconds: (end - bigStart).inSeconds,
                                 bigRate: Double(bigCount - first.count) / max((end - first.at).inSeconds, 0.001), bigHeld: bigCount)
    }

    /// Creates a tenant (admin key), adds its token and imports its devices; its API key.
    static func addTenant(_ api: AllotAPI, adminKey: String, slug: String, location: String, tokens: String,
                          serials: [String]) async throws -> String {
        let created = try api.expect(201, try await api.post("/v1/tenants", key: adminKey, json: ["slug": slug]), "creating tenant \(slug)")
        guard let key = created["apiKey"] as? String else { throw BenchError("creating tenant \(slug): no apiKey in the answer") }
        let tokenFile = try Data(contentsOf: URL(fileURLWithPath: tokens).appendingPathComponent("\(location).vpptoken"))
        _ = try api.expect(201, try await api.post("/v1/tenants/\(slug)/tokens", key: key, contentType: "application/octet-stream",
                                                   body: tokenFile), "adding \(slug)'s token")
        let csv = "serial_number\n" + serials.joined(separator: "\n") + "\n"
        let imported = try api.expect(200, try await api.post("/v1/tenants/\(slug)/devices/import", key: key, contentType: "text/csv",
                                                              body: Data(csv.utf8), timeoutSeconds: 600), "importing \(slug)'s devices")
        guard imported["imported"] as? Int == serials.count else { throw BenchError("\(slug): imported \(imported["imported"] ?? "?") of \(serials.count)") }
        return key
    }

    /// One device's assignment over HTTP, as the tenant's backend sends it; the seconds to answer.
    static func assignOne(_ api: AllotAPI, key: String, slug: String, serial: String) async throws -> Double {
        let started = ContinuousClock.now
        let answer = try api.expect(200, try await api.post("/v1/tenants/\(slug)/assignments", key: key,
                                                            json: ["app": app.adamId, "serialNumbers": [serial]]), "\(slug)'s assignment")
        guard (answer["counts"] as? [String: Any])?["assigned"] as? Int == 1 else { throw BenchError("\(slug)'s assignment was not assigned") }
        return (ContinuousClock.now - started).inSeconds
    }

    /// Seconds from `since` until Apple holds `serial` at `location`; nil past `smallSecondsMax`.
    static func heldAfter(_ holdings: SimulatorHoldings, location: String, serial: String, since: ContinuousClock.Instant) async throws -> Double? {
        while (ContinuousClock.now - since).inSeconds < smallSecondsMax {
            if holdings.holds(location: location, serial: serial) { return (ContinuousClock.now - since).inSeconds }
            try await Task.sleep(for: .milliseconds(smallPollMilliseconds))
        }
        return nil
    }

    /// The base URL `allot sim serve --json` prints once it listens.
    static func baseURL(printedIn file: URL, by process: Process) async throws -> String {
        let deadline = Date().addingTimeInterval(startupSecondsMax)
        while Date() < deadline && process.isRunning {
            let text = String(decoding: FileManager.default.contents(atPath: file.path) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let url = object["baseUrl"] as? String {
                return url
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("`allot sim serve` printed no base URL within \(Int(startupSecondsMax)) s; see sim-serve.err")
    }
}
