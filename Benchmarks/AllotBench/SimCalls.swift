// `allot-bench --sim-calls` (issue 15): Apple calls per second the served simulator answers over
// loopback, with 1,000 locations and 1,000 / 100,000 / 1,000,000 assignments in its state. The
// cost of a call must not grow with the fleet (flat within ±25%), and stay above 1,000 calls/s.
//
// The state is built through the simulator's own API (associate events of up to 1,000 serials,
// applied in process). The measured mix, from `concurrency` clients at once, each call to a
// random location: client/config, assets, assignments of one serial, associate (one app to one
// new serial) and the status of that event (which applies it): the calls an engine makes.
import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AppleSimulatorServer
import BenchmarkSupport
import Foundation

enum SimCalls {
    static let locations = 1_000
    static let app = WireAssetKey(adamId: "361309726", pricingParam: "STDQ")
    /// Calls in flight at once: several engines (or one engine's tokens) at the same time.
    static let concurrency = 16
    /// Serials per associate while building the state (Apple's `maxSerialNumbers`).
    static let buildChunk = 1_000

    struct Run {
        let assignments: Int
        let calls: Int
        let elapsed: Double
        let stateBytes: Int
        let buildSeconds: Double
        var callsPerSecond: Double { Double(calls) / elapsed }
        var microsecondsPerCall: Double { elapsed / Double(calls) * 1_000_000 }
    }

    static func runBlocking(sizes: [Int], calls: Int, directory: String) -> [Run] {
        blocking("--sim-calls") {
            var runs: [Run] = []
            for size in sizes { runs.append(try await run(assignments: size, calls: calls, folder: "\(directory)/sim-calls-\(size)")) }
            return runs
        }
    }

    static func seed(total: Int) -> String {
        let locations = (0..<Self.locations).map { index in
            """
            {"uId": "\(uid(index))", "locationName": "Campus \(index)", "orgName": "Fleet Schools",
             "expires": "2099-01-01T00:00:00Z", "mdmInfo": null,
             "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \(total),
                         "deviceAssignable": true, "revocable": true}]}
            """
        }
        return #"{"locations": ["# + locations.joined(separator: ",") + "]}"
    }

    static func uid(_ index: Int) -> String { String(100_000 + index) }
    static func serial(location: Int, _ index: Int) -> String { "L\(location)S\(index)" }

    static func run(assignments: Int, calls: Int, folder path: String) async throws -> Run {
        let folder = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tokensDirectory = folder.appendingPathComponent("tokens")
        let statePath = folder.appendingPathComponent("sim.sqlite")
        let perLocation = max(1, assignments / locations)
        // Room for the build and for every associate the measured mix adds.
        // Measures the simulator's calls back to back, above Apple's rate: not enforced here.
        let simulator = try AppleSimulator.initialize(seed: Data(seed(total: perLocation + calls).utf8), statePath: statePath,
                                                      tokensDirectory: tokensDirectory, enforceRequestRate: false)
        let tokens = try (0..<locations).map {
            try String(contentsOf: AppleSimulator.tokenFileURL(location: uid($0), tokensDirectory: tokensDirectory), encoding: .utf8)
        }

        log("sim-calls: building \(format(Double(perLocation * locations))) assignments over \(locations) locations")
        let buildSeconds = try await Measure.asyncSeconds {
            for location in 0..<locations {
                for start in stride(from: 0, to: perLocation, by: buildChunk) {
                    let serials = (start..<min(start + buildChunk, perLocation)).map { serial(location: location, $0) }
                    let event = try await simulator.associate(token: tokens[location], AssociationRequest(assets: [app], serialNumbers: serials))
                    let status = try await simulator.eventStatus(token: tokens[location], eventId: event.eventId)
                    precondition(status.eventStatus == "COMPLETE", "a build event completes at its first poll")
                }
            }
        }
        let held = try await simulator.allAssignments().count
        precondition(held == perLocation * locations, "the state holds \(held) assignments, not \(perLocation * locations)")

        let served = try await ServedSimulator.start(simulator: simulator)
        do {
            let client = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(60))
            log("sim-calls: \(format(Double(calls))) calls, \(concurrency) in flight, at \(format(Double(held))) assignments")
            let perWorker = calls / concurrency
            var made = 0
            let elapsed = try await Measure.asyncSeconds {
                made = try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var generator = SystemRandomNumberGenerator()
                            var made = 0
                            var round = 0
                            while made < perWorker {
                                let location = Int.random(in: 0..<locations, using: &generator)
                                let token = tokens[location]
                                _ = try await client.clientConfig(token: token)
                                _ = try await client.assets(token: token, query: AssetsQuery())
                                _ = try await client.assignments(token: token, query: AssignmentsQuery(serialNumber: serial(location: location, 0)))
                                let fresh = "W\(worker)R\(round)"
                                let event = try await client.associate(token: token, AssociationRequest(assets: [app], serialNumbers: [fresh]))
                                let status = try await client.eventStatus(token: token, eventId: event.eventId)
                                precondition(status.eventStatus == "COMPLETE", "the mix's event completes at its first poll")
                                made += 5
                                round += 1
                            }
                            return made
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            await served.stop()
            let bytes = (try FileManager.default.attributesOfItem(atPath: statePath.path)[.size] as? Int) ?? 0
            return Run(assignments: held, calls: made, elapsed: elapsed, stateBytes: bytes, buildSeconds: buildSeconds)
        } catch {
            await served.stop()
            throw error
        }
    }

    static func report(_ runs: [Run]) {
        print("")
        print("Simulator over loopback HTTP: \(locations) locations, \(concurrency) calls in flight; mix per round: "
            + "client/config, assets, assignments?serialNumber, associate (1 app × 1 serial), status")
        print("")
        print("| assignments in the state | state file | build | calls | elapsed | calls/s | µs per call | vs the smallest |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        let base = runs.first?.microsecondsPerCall ?? 1
        for run in runs {
            print("| \(format(Double(run.assignments))) | \(format(Double(run.stateBytes) / 1_048_576)) MiB | \(String(format: "%.1f s", run.buildSeconds)) "
                + "| \(format(Double(run.calls))) | \(String(format: "%.2f s", run.elapsed)) | \(format(run.callsPerSecond)) "
                + "| \(format(run.microsecondsPerCall)) | \(ratio(run.microsecondsPerCall / base)) |")
        }
    }
}
