// `allot-bench --http-push [N]` (issue 6): pushes N assignments over HTTP to the served simulator
// with Apple's published limits (1,000 serials per call, 15 calls per second per token) and
// reports how close to Apple's allowed rate `allot` gets. The rate must be bounded by Apple's
// limit, not by `allot`: the achieved fraction is (calls / 15 per second) / elapsed.
//
// Two runs on fresh worlds: paced (`paceRequests`, what production does) and unpaced (the same
// push with pacing off, i.e. how fast `allot` plus the simulator could go if Apple let it). A
// probe then times the simulator's own work per call in process, without HTTP, at the final size.
import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AppleSimulatorServer
import BenchmarkSupport
import Crypto
import Foundation
import Synchronization

enum HTTPPush {
    /// The app every device gets.
    static let app = AssetKey(adamId: "361309726")
    static let tenant = "pushbench"
    static let location = "1001"
    /// `Allot.assign` takes at most 100,000 items; the issue's batches are 10,000.
    static let assignBatchSize = 10_000
    /// `Allot.registerDevices` takes at most `BatchLimits.itemsMax` at once.
    static let registerChunk = BatchLimits.itemsMax
    /// A bound on the push loop: each push makes up to `pushRoundsMax` rounds.
    static let pushesMax = 1_000
    /// Calls of each kind the in-process probe times.
    static let probeCalls = 10

    struct Run {
        let paced: Bool
        let assignments: Int
        let calls: Tally.Snapshot
        let elapsed: Double
        let maxRequestPerSecond: Int
        let maxSerialNumbers: Int
        let appleAssigned: Int

        /// Apple's floor: every call at exactly `maxRequestPerSecond`.
        var allowedSeconds: Double { Double(calls.count) / Double(maxRequestPerSecond) }
        var fraction: Double { allowedSeconds / elapsed }
        var callsPerSecond: Double { Double(calls.count) / elapsed }
    }

    struct Probe {
        /// Seconds per call of the simulator alone (state file included), in process.
        let associateSeconds: Double
        let statusSeconds: Double
        let stateFileBytes: Int
    }

    /// Runs the check in a fresh folder under `directory`; blocks until done (main.swift is synchronous).
    static func runBlocking(assignments: Int, directory: String) -> (paced: Run, unpaced: Run, probe: Probe) {
        blocking("--http-push") {
            let paced = try await run(assignments: assignments, paced: true, folder: "\(directory)/http-push-paced")
            let unpaced = try await run(assignments: assignments, paced: false, folder: "\(directory)/http-push-unpaced")
            let probe = try await probe(folder: "\(directory)/http-push-unpaced")
            return (paced, unpaced, probe)
        }
    }

    static func seed(total: Int) -> String {
        """
        {"locations": [{"uId": "\(location)", "locationName": "Bench Campus", "orgName": "Bench Schools",
          "expires": "2099-01-01T00:00:00Z", "mdmInfo": null,
          "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \(total),
                      "deviceAssignable": true, "revocable": true}]}]}
        """
    }

    static func serial(_ index: Int) -> String {
        let digits = String(index)
        return "PSH" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }

    static func run(assignments: Int, paced: Bool, folder path: String) async throws -> Run {
        let folder = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tokens = folder.appendingPathComponent("tokens")
        // The unpaced run measures the engine without Apple's rate, so the simulator must not
        // enforce it then (it does by default); the paced run keeps it, as at Apple.
        let simulator = try AppleSimulator.initialize(seed: Data(seed(total: assignments).utf8),
                                                      statePath: folder.appendingPathComponent("sim.json"), tokensDirectory: tokens,
                                                      enforceRequestRate: paced)
        let served = try await ServedSimulator.start(simulator: simulator)
        do {
            let timed = TimedService(AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(120)))
            let limits = try await timed.serviceConfig().limits
            var settings = EngineSettings()
            settings.paceRequests = paced
            settings.pollIntervalSeconds = 0
            settings.firstPollDelaySeconds = 0
            let engine = try Allot(databasePath: folder.appendingPathComponent("allot.sqlite").path, apple: timed,
                                   secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings)

            log("http-push (\(paced ? "paced" : "unpaced")): \(format(Double(assignments))) devices, token, assign")
            _ = try await engine.createTenant(slug: tenant)
            for start in stride(from: 1, through: assignments, by: registerChunk) {
                let devices = (start..<min(start + registerChunk, assignments + 1)).map { DeviceInput(serial: SerialNumber(serial($0))!) }
                _ = try await engine.registerDevices(tenant: tenant, devices)
            }
            let tokenFile = try String(contentsOf: AppleSimulator.tokenFileURL(location: location, tokensDirectory: tokens), encoding: .utf8)
            _ = try await engine.addToken(tenant: tenant, fileContents: tokenFile)
            for start in stride(from: 1, through: assignments, by: assignBatchSize) {
                let items = (start..<min(start + assignBatchSize, assignments + 1)).map { BatchItem(asset: app, serial: serial($0)) }
                let outcome = try await engine.assign(tenant: tenant, items)
                precondition(outcome.counts["assigned"] == items.count, "the benchmark's pool is big enough for every item")
            }

            // The measured part: deliver everything, from the first associate to the last poll.
            timed.tally.reset()
            log("http-push (\(paced ? "paced" : "unpaced")): pushing")
            var unfinished = -1
            let elapsed = try await Measure.asyncSeconds {
                for _ in 0..<pushesMax {
                    let report = try await engine.push(tenant: tenant)
                    precondition(report.failed == 0 && report.released.isEmpty, "the push failed operations: \(report)")
                    unfinished = report.unfinished
                    if unfinished == 0 { break }
                }
            }
            let calls = timed.tally.snapshot()
            precondition(unfinished == 0, "\(unfinished) operations still unfinished after \(pushesMax) pushes")
            let appleAssigned = try await simulator.allAssignments(location: location).count
            precondition(appleAssigned == assignments, "Apple holds \(appleAssigned) assignments, not \(assignments)")
            await served.stop()
            return Run(paced: paced, assignments: assignments, calls: calls, elapsed: elapsed,
                       maxRequestPerSecond: limits.maxRequestPerSecond, maxSerialNumbers: limits.maxSerialNumbers,
                       appleAssigned: appleAssigned)
        } catch {
            await served.stop()
            throw error
        }
    }

    /// The simulator alone, in process, on the state a run left: an associate of serials already
    /// held (one event row written) and a poll of it (the event applied: 1,000 rows looked at).
    /// What HTTP adds is the round trip minus this.
    static func probe(folder path: String) async throws -> Probe {
        let folder = URL(fileURLWithPath: path)
        let statePath = folder.appendingPathComponent("sim.json")
        let simulator = try AppleSimulator(statePath: statePath)
        let token = try String(contentsOf: AppleSimulator.tokenFileURL(location: location, tokensDirectory: folder.appendingPathComponent("tokens")),
                               encoding: .utf8)
        let request = AssociationRequest(assets: [WireAssetKey(adamId: app.adamId, pricingParam: app.pricingParam.rawValue)],
                                         serialNumbers: (1...1_000).map(serial))
        var associate = 0.0, status = 0.0
        for _ in 0..<probeCalls {
            let clock = ContinuousClock()
            let start = clock.now
            let answer = try await simulator.associate(token: token, request)
            let sent = clock.now
            let polled = try await simulator.eventStatus(token: token, eventId: answer.eventId)
            let end = clock.now
            precondition(polled.eventStatus == "COMPLETE", "the probe's event completes at its first poll")
            associate += (sent - start).inSeconds
            status += (end - sent).inSeconds
        }
        let bytes = (try FileManager.default.attributesOfItem(atPath: statePath.path)[.size] as? Int) ?? 0
        return Probe(associateSeconds: associate / Double(probeCalls), statusSeconds: status / Double(probeCalls), stateFileBytes: bytes)
    }

    /// The table, in the style of the rest of allot-bench.
    static func report(paced: Run, unpaced: Run, probe: Probe) {
        func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
        func milliseconds(_ value: Double) -> String { String(format: "%.1f ms", value * 1_000) }
        func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        print("")
        print("HTTP push: \(format(Double(paced.assignments))) assignments to the served simulator, "
            + "limits \(format(Double(paced.maxSerialNumbers))) serials per call, \(paced.maxRequestPerSecond) calls per second per token")
        print("")
        print("| run | calls (associate + status) | elapsed | allowed minimum | achieved fraction | calls/s | in Apple calls (HTTP + simulator) | in allot (+ pacing waits) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in [paced, unpaced] {
            let inApple = run.calls.seconds
            print("| \(run.paced ? "paced (production settings)" : "unpaced (pacing off: allot + simulator capacity)") "
                + "| \(format(Double(run.calls.count))) (\(run.calls.associate) + \(run.calls.status)) "
                + "| \(seconds(run.elapsed)) | \(seconds(run.allowedSeconds)) | \(percent(run.fraction)) "
                + "| \(String(format: "%.1f", run.callsPerSecond)) "
                + "| \(seconds(inApple)) (\(percent(inApple / run.elapsed))) | \(seconds(run.elapsed - inApple)) (\(percent(1 - inApple / run.elapsed))) |")
        }
        print("")
        print("| per call (unpaced run) | associate | status |")
        print("| --- | ---: | ---: |")
        print("| HTTP round trip, as allot sees it | \(milliseconds(unpaced.calls.associateSeconds / Double(max(1, unpaced.calls.associate)))) "
            + "| \(milliseconds(unpaced.calls.statusSeconds / Double(max(1, unpaced.calls.status)))) |")
        print("| simulator alone, in process (state file \(format(Double(probe.stateFileBytes) / 1_024)) KiB) "
            + "| \(milliseconds(probe.associateSeconds)) | \(milliseconds(probe.statusSeconds)) |")
        let unpacedPerCall = unpaced.calls.count > 0 ? (unpaced.elapsed - unpaced.calls.seconds) / Double(unpaced.calls.count) : 0
        print("| allot's own work between calls | \(milliseconds(unpacedPerCall)) (all calls) | |")
        print("")
        print("Allowed minimum = calls / \(paced.maxRequestPerSecond) per second; achieved fraction = allowed minimum / elapsed. "
            + "Unpaced, allot + simulator make \(String(format: "%.1f", unpaced.callsPerSecond)) calls/s, "
            + "\(ratio(unpaced.callsPerSecond / Double(paced.maxRequestPerSecond))) Apple's \(paced.maxRequestPerSecond).")
    }
}

/// Calls and the time spent in them, per kind. Only the push's calls are counted (reset first).
final class Tally: Sendable {
    struct Snapshot: Sendable {
        var associate = 0
        var status = 0
        var other = 0
        var associateSeconds = 0.0
        var statusSeconds = 0.0
        var otherSeconds = 0.0
        var count: Int { associate + status + other }
        var seconds: Double { associateSeconds + statusSeconds + otherSeconds }
    }

    private let state = Mutex(Snapshot())
    func reset() { state.withLock { $0 = Snapshot() } }
    func snapshot() -> Snapshot { state.withLock { $0 } }
    func add(_ kind: Kind, _ seconds: Double) {
        state.withLock {
            switch kind {
            case .associate: $0.associate += 1; $0.associateSeconds += seconds
            case .status: $0.status += 1; $0.statusSeconds += seconds
            case .other: $0.other += 1; $0.otherSeconds += seconds
            }
        }
    }

    enum Kind { case associate, status, other }
}

/// Apple's service with every call timed: the time `allot` waits on Apple (HTTP and simulator).
/// `serviceConfig` is not a token's call (no Bearer) and is cached by the client: not counted.
struct TimedService: AppsAndBooksService {
    let inner: any AppsAndBooksService
    let tally = Tally()

    init(_ inner: any AppsAndBooksService) { self.inner = inner }

    private func timed<T>(_ kind: Tally.Kind, _ call: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        defer { tally.add(kind, (clock.now - start).inSeconds) }
        return try await call()
    }

    func serviceConfig() async throws -> ServiceConfig { try await inner.serviceConfig() }
    func clientConfig(token: String) async throws -> ClientConfig { try await timed(.other) { try await inner.clientConfig(token: token) } }
    func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        try await timed(.other) { try await inner.updateClientConfig(token: token, request) }
    }
    func assets(token: String, query: AssetsQuery) async throws -> AssetsPage { try await timed(.other) { try await inner.assets(token: token, query: query) } }
    func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        try await timed(.other) { try await inner.assignments(token: token, query: query) }
    }
    func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await timed(.associate) { try await inner.associate(token: token, request) }
    }
    func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await timed(.associate) { try await inner.disassociate(token: token, request) }
    }
    func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse { try await timed(.other) { try await inner.revoke(token: token, request) } }
    func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try await timed(.status) { try await inner.eventStatus(token: token, eventId: eventId) }
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Measure {
    static func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        return (clock.now - start).inSeconds
    }
}
