// `allot-bench --fleet-push TOKENS[,TOKENS…]` (issue 11, point 4): TOKENS tokens (one tenant
// each) with `assignmentsPerToken` assignments waiting each, delivered by one `Allot.push`
// (one lane per token) to Apple at `latencyMs` a call. Reports the time until Apple holds every
// assignment against Apple's allowed minimum for the same work, as a ratio, with memory and
// allot's own CPU per call.
//
// Apple is `allot sim serve` in its own process (so this process's CPU is allot's alone),
// behind a delay of `latencyMs` per call: `--proxy SCRIPT` runs a loopback latency proxy
// (/work/shared/tools/latency-proxy.py: `SCRIPT UPSTREAM PORT SECONDS`) in front of it; with
// `--sim-latency` the simulator adds the delay itself (`allot sim serve --latency-ms`, once the
// simulator branch has merged). The JSON-state simulator is slow at large states: measure 10
// and 100 tokens with it, 1,000 with the SQLite-state simulator.
import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AsyncHTTPClient
import BenchmarkSupport
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum FleetPush {
    static let app = AssetKey(adamId: "361309726")
    static let assignmentsPerToken = 1_000
    static let latencyMs = 150
    /// Waiting for a child process to say it is ready.
    static let startupSecondsMax = 60.0
    static let pushesMax = 100
    /// Tokens added at once while setting up.
    static let setupWidth = 50

    struct Run {
        let tokens: Int
        let elapsed: Double
        let calls: Tally.Snapshot
        let maxRequestPerSecond: Int
        let cpuSeconds: Double
        /// The simulator's own CPU over the push (its process, read from /proc): the share of
        /// the machine Apple's stand-in took, which real Apple spends on its own servers.
        let simulatorCPUSeconds: Double
        /// The process's peak resident memory, setup included (a million assignments decided).
        let residentBytes: Int
        /// Resident memory when the push began, and its peak during the push (sampled): what
        /// delivery itself holds (connections, lanes, the operations in flight).
        let pushResidentBytes: (before: Int, peak: Int)
        let callsPerToken: [Int]
        /// From the push's start until the last token's first associate reached Apple (read from
        /// the proxy's call log; nil without a proxy). Apple allows this in one latency: every
        /// token's first call in parallel.
        let firstRoundSeconds: Double?

        /// Apple's floor for the same work: every token's calls at exactly its rate, tokens in
        /// parallel, and no call before the one it depends on has come back (a send, then its
        /// poll: two latencies at least).
        var allowedSeconds: Double { FleetPush.allowedSeconds(busiestTokenCalls: callsPerToken.max() ?? 0, maxRequestPerSecond: maxRequestPerSecond) }
        var ratio: Double { allowedSeconds / elapsed }
        var cpuPerCall: Double { cpuSeconds / Double(max(1, calls.count)) }
        var simulatorCPUPerCall: Double { simulatorCPUSeconds / Double(max(1, calls.count)) }
        /// CPU of both processes over the push's wall time: near the machine's cores, the push
        /// was bound by CPU (allot's and the simulator's together), not by Apple's pace.
        var coresBusy: Double { (cpuSeconds + simulatorCPUSeconds) / elapsed }
    }

    /// Apple's floor for a push whose busiest token makes `busiestTokenCalls` calls: those calls
    /// at exactly the token's rate plus one latency, and never less than a send and its poll.
    static func allowedSeconds(busiestTokenCalls: Int, maxRequestPerSecond: Int) -> Double {
        let latency = Double(latencyMs) / 1_000
        return max(Double(max(busiestTokenCalls - 1, 0)) / Double(maxRequestPerSecond) + latency, 2 * latency)
    }

    struct Setup {
        var proxyScript: String?
        var simulatorLatency = false
    }

    static func seed(tokens: Int) -> String {
        let locations = (1...tokens).map { index in
            """
            {"uId": "\(uId(index))", "locationName": "Fleet \(index)", "orgName": "Fleet Schools", "expires": "2099-01-01T00:00:00Z", "mdmInfo": null,
             "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \(assignmentsPerToken), "deviceAssignable": true, "revocable": true}]}
            """
        }
        return "{\"locations\": [\(locations.joined(separator: ",\n"))]}"
    }

    static func uId(_ index: Int) -> String { String(100_000 + index) }
    static func serial(_ index: Int) -> String { "FLT" + String(format: "%09d", index) }

    static func runBlocking(tokenCounts: [Int], setup: Setup, directory: String) -> [Run] {
        blocking("--fleet-push") {
            var runs: [Run] = []
            for tokens in tokenCounts { runs.append(try await run(tokens: tokens, setup: setup, folder: "\(directory)/fleet-\(tokens)")) }
            return runs
        }
    }

    static func run(tokens: Int, setup: Setup, folder path: String) async throws -> Run {
        let folder = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tokensFolder = folder.appendingPathComponent("tokens")
        let statePath = folder.appendingPathComponent("sim.json")
        _ = try AppleSimulator.initialize(seed: Data(seed(tokens: tokens).utf8), statePath: statePath, tokensDirectory: tokensFolder)

        log("fleet-push \(tokens) tokens: starting the simulator")
        var children: [Process] = []
        // SIGKILL: they are throwaway, and a child started with SIGTERM ignored would hang here.
        defer { for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() } }
        var simulatorArguments = ["sim", "serve", "--state", statePath.path, "--port", "0", "--json"]
        if setup.simulatorLatency { simulatorArguments += ["--latency-ms", String(latencyMs)] }
        let (simulator, simulatorURL) = try startSimulator(arguments: simulatorArguments, folder: folder)
        children.append(simulator)
        var baseURL = simulatorURL
        if let script = setup.proxyScript {
            let upstream = URL(string: simulatorURL)!
            let origin = "\(upstream.scheme!)://\(upstream.host!):\(upstream.port!)"
            let port = try freePort()
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            proxy.arguments = ["python3", script, origin, String(port), String(Double(latencyMs) / 1_000),
                               folder.appendingPathComponent("calls.log").path]
            proxy.standardOutput = FileHandle.nullDevice
            proxy.standardError = FileHandle.nullDevice
            try proxy.run()
            children.append(proxy)
            baseURL = "http://127.0.0.1:\(port)\(upstream.path)"
        }
        // The client production uses: as many connections as the engine's calls in flight.
        let http = PooledHTTPClient.forCalls(inFlightMax: EngineSettings().appleCallsInFlightMax)
        let timed = TimedService(AppleHTTPClient(baseURL: baseURL, httpClient: http, timeout: .seconds(120)))
        let callLog = setup.proxyScript == nil ? nil : folder.appendingPathComponent("calls.log")
        return try await measure(tokens: tokens, apple: timed, statePath: statePath, tokensFolder: tokensFolder, callLog: callLog,
                                 simulator: simulator.processIdentifier)
    }

    /// Sets up `tokens` tenants with their token and assignments, then times one push to the end.
    static func measure(tokens: Int, apple timed: TimedService, statePath: URL, tokensFolder: URL, callLog: URL?,
                        simulator: Int32) async throws -> Run {
        let limits = try await waitForApple(timed)

        var settings = EngineSettings()
        // Production settings, but polls are as frequent as the simulator's events need: an
        // event completes at its first poll.
        settings.pollIntervalSeconds = 1
        let engine = try Allot(databasePath: statePath.deletingLastPathComponent().appendingPathComponent("allot.sqlite").path, apple: timed,
                               secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings)
        log("fleet-push \(tokens) tokens: \(tokens) tenants × \(format(Double(assignmentsPerToken))) devices, tokens, assignments")
        let devices = (1...assignmentsPerToken).map { DeviceInput(serial: SerialNumber(serial($0))!) }
        let items = (1...assignmentsPerToken).map { BatchItem(asset: app, serial: serial($0)) }
        // Tokens are added a few at a time: each addition is several Apple calls at 150 ms.
        for start in stride(from: 1, through: tokens, by: setupWidth) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in start..<min(start + setupWidth, tokens + 1) {
                    group.addTask {
                        let slug = "fleet-\(index)"
                        _ = try await engine.createTenant(slug: slug)
                        _ = try await engine.registerDevices(tenant: slug, devices)
                        let file = try String(contentsOf: AppleSimulator.tokenFileURL(location: uId(index), tokensDirectory: tokensFolder), encoding: .utf8)
                        _ = try await engine.addToken(tenant: slug, fileContents: file)
                        let outcome = try await engine.assign(tenant: slug, items)
                        precondition(outcome.counts["assigned"] == items.count, "every token has a licence for every device")
                    }
                }
                try await group.waitForAll()
            }
        }

        log("fleet-push \(tokens) tokens: pushing")
        timed.tally.reset()
        let residentBeforePush = currentResidentBytes()
        let residentSampler = Task.detached {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, currentResidentBytes())
                try? await Task.sleep(for: .milliseconds(10))
            }
            return max(peak, currentResidentBytes())
        }
        let cpuBefore = processCPUSeconds()
        let simulatorCPUBefore = childCPUSeconds(simulator)
        let pushStart = Date().timeIntervalSince1970
        var unfinished = -1
        let elapsed = try await Measure.asyncSeconds {
            for _ in 0..<pushesMax {
                let report = try await engine.push()
                precondition(report.failed == 0 && report.released.isEmpty, "the push failed operations: \(report)")
                unfinished = report.unfinished
                if unfinished == 0 { break }
                // Polls wait for their second: a real worker sleeps too.
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let cpuSeconds = processCPUSeconds() - cpuBefore
        residentSampler.cancel()
        let residentPeakDuringPush = await residentSampler.value
        let simulatorCPUSeconds = childCPUSeconds(simulator) - simulatorCPUBefore
        log("fleet-push \(tokens) tokens: pushed in \(String(format: "%.2f s", elapsed)); reading Apple's assignments")
        let calls = timed.tally.snapshot()
        precondition(unfinished == 0, "\(unfinished) operations unfinished after \(pushesMax) pushes")
        // Apple's own view, read after the push: every assignment is there.
        let held = try await AppleSimulator(statePath: statePath).allAssignments().count
        precondition(held == tokens * assignmentsPerToken, "Apple holds \(held) assignments, not \(tokens * assignmentsPerToken)")
        let perToken = [Int](repeating: calls.count / max(tokens, 1), count: tokens)
        let firstRound = callLog.flatMap { firstRoundSeconds(log: $0, since: pushStart, tokens: tokens) }
        return Run(tokens: tokens, elapsed: elapsed, calls: calls, maxRequestPerSecond: limits.maxRequestPerSecond,
                   cpuSeconds: cpuSeconds, simulatorCPUSeconds: simulatorCPUSeconds, residentBytes: residentBytes(),
                   pushResidentBytes: (residentBeforePush, residentPeakDuringPush), callsPerToken: perToken, firstRoundSeconds: firstRound)
    }

    /// The time from `since` until the `tokens`-th associate the proxy forwarded after it.
    static func firstRoundSeconds(log: URL, since: Double, tokens: Int) -> Double? {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return nil }
        let times = text.split(separator: "\n").compactMap { line -> Double? in
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[2].hasSuffix("/assets/associate"), let at = Double(fields[0]), at >= since else { return nil }
            return at
        }.sorted()
        return times.count >= tokens ? times[tokens - 1] - since : nil
    }

    /// Starts `allot sim serve … --json` (the `allot` binary beside this one) and reads its base URL.
    static func startSimulator(arguments: [String], folder: URL) throws -> (Process, String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("allot")
        let outPath = folder.appendingPathComponent("sim-serve.out").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errPath = folder.appendingPathComponent("sim-serve.err").path
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = Date().addingTimeInterval(startupSecondsMax)
        while Date() < deadline {
            let text = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let url = object["baseUrl"] as? String {
                return (process, url)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw BenchError("`allot sim serve` (\(binary.path)) printed no base URL in \(Int(startupSecondsMax)) s; build `allot` first")
    }

    /// Apple's limits, once the simulator (and the proxy) answer.
    static func waitForApple(_ apple: any AppsAndBooksService) async throws -> ServiceLimits {
        let deadline = Date().addingTimeInterval(startupSecondsMax)
        while true {
            do { return try await apple.serviceConfig().limits } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A child's user + system time, from /proc/PID/stat (fields 14 and 15, in clock ticks).
    static func childCPUSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)" come the fields from the 3rd on; comm may hold spaces, hence ")".
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Peak resident memory of this process (Linux reports `ru_maxrss` in KiB).
    /// Resident memory now (/proc/self/statm, in pages), where `ru_maxrss` keeps only the peak.
    static func currentResidentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func residentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1_024
    }

    static func report(_ runs: [Run], setup: Setup) {
        print("")
        print("Fleet push: \(format(Double(assignmentsPerToken))) assignments per token, one tenant per token, \(latencyMs) ms a call "
            + "(\(setup.simulatorLatency ? "the simulator's --latency-ms" : "latency proxy")), Apple's limit \(runs.first?.maxRequestPerSecond ?? 0) calls/s per token")
        print("")
        print("| tokens | every token's first associate at Apple (allowed: \(latencyMs) ms) | calls | until Apple holds all | Apple's allowed minimum | ratio | peak memory | memory during the push | allot CPU per call | simulator CPU per call | cores busy |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        let latency = Double(latencyMs) / 1_000
        for run in runs {
            let first = run.firstRoundSeconds.map { String(format: "%.2f s", $0) + " (\(ratio(latency / $0)))" } ?? "-"
            print("| \(format(Double(run.tokens))) | \(first) | \(format(Double(run.calls.count))) | \(String(format: "%.2f s", run.elapsed)) "
                + "| \(String(format: "%.2f s", run.allowedSeconds)) | \(ratio(run.ratio)) "
                + "| \(format(Double(run.residentBytes) / 1_048_576)) MiB "
                + "| \(format(Double(run.pushResidentBytes.before) / 1_048_576)) → \(format(Double(run.pushResidentBytes.peak) / 1_048_576)) MiB "
                + "| \(String(format: "%.2f ms", run.cpuPerCall * 1_000)) "
                + "| \(String(format: "%.2f ms", run.simulatorCPUPerCall * 1_000)) | \(String(format: "%.2f", run.coresBusy)) |")
        }
        print("")
        print("Allowed minimum: the busiest token's calls at its rate, plus one latency, and at least a send and its poll (two latencies). "
            + "Ratio = allowed minimum / time taken (1.00× is Apple's limit). CPU: this process's user + system time during the push, "
            + "divided by the calls (the simulator runs in its own process; its CPU is read from /proc). Cores busy: both processes' CPU "
            + "over the push's wall time; near the machine's cores, CPU and not Apple's pace bounded the push. Peak memory is the process's, "
            + "setup included; memory during the push is resident memory when it began → its peak while it ran.")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
