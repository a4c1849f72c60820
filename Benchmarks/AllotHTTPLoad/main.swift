// allot-http-load: assign batches over loopback HTTP from this process against `allot serve`
// in a child process, and the same batches against the in-process engine, in one run.
//
//   allot-http-load [--batches N] [--batch-size S] [--concurrency C]
//
// Prints allocations per second (items decided and durably committed), p50 and p99 latency
// of one batch, and the ratio of HTTP to in-process. Loopback only; every loop is bounded.
import Allot
import AllotStore
import AllotCore
import AllotServer
import AsyncHTTPClient
import Foundation
import Logging

struct Options {
    var batches = 40
    var batchSize = 1_000
    var concurrency = 4
    var serveDatabase: String?

    static let batchesMax = 10_000

    init(_ arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            func value() throws -> String {
                guard let next = iterator.next() else { throw Failure("\(argument) needs a value") }
                return next
            }
            func number() throws -> Int {
                guard let parsed = Int(try value()), parsed > 0 else { throw Failure("\(argument) needs a positive integer") }
                return parsed
            }
            switch argument {
            case "--batches": batches = min(try number(), Self.batchesMax)
            case "--batch-size": batchSize = min(try number(), BatchLimits.itemsMax)
            case "--concurrency": concurrency = min(try number(), 64)
            case "--serve": serveDatabase = try value()   // the child process
            case "-h", "--help":
                print("usage: allot-http-load [--batches N] [--batch-size S] [--concurrency C]")
                exit(0)
            default: throw Failure("unknown argument \(argument); see --help")
            }
        }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let tenantSlug = "load"
let app = AssetKey(adamId: "361309726")

func serial(_ index: Int) -> String { "LOD" + String(format: "%08d", index) }

/// A ledger with one tenant, one token holding `devices` licences, and `devices` devices.
func prepare(path: String, devices: Int) async throws {
    do {
        let ledger = try Ledger(path: path)
        let tenant = try ledger.createTenant(slug: tenantSlug, name: "Load", policy: .mostAvailable)
        let token = try ledger.addToken(tenant: tenant.id, NewToken(
            locationUid: "9001", locationName: "Load Campus", orgName: "Load", secret: nil,
            expiresAt: Int64(Date().timeIntervalSince1970) + 365 * 86_400))
        _ = try ledger.applySnapshot(tenant: tenant.id, token: token, assets: [SnapshotAsset(asset: app, total: devices, appleAssigned: 0)])
    }
    let engine = try Allot(databasePath: path)
    var start = 1
    while start <= devices {
        let end = min(devices, start + 50_000 - 1)
        _ = try await engine.registerDevices(tenant: tenantSlug, (start...end).map { DeviceInput(serial: SerialNumber(serial($0))!) })
        start = end + 1
    }
}

/// Batch `index` covers its own serials, so every item is a new assignment.
func batchSerials(_ index: Int, size: Int) -> [String] {
    (0..<size).map { serial(index * size + $0 + 1) }
}

struct Measurement {
    let label: String
    let items: Int
    let seconds: Double
    let latencies: [Double]
    let assigned: Int

    var rate: Double { Double(assigned) / seconds }
    func percentile(_ p: Double) -> Double {
        let sorted = latencies.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}

/// Runs batches 1...count with `concurrency` in flight; `run` returns the items assigned.
func measure(_ label: String, count: Int, size: Int, concurrency: Int, _ run: @escaping @Sendable (Int) async throws -> Int) async throws -> Measurement {
    let clock = ContinuousClock()
    let start = clock.now
    var latencies: [Double] = []
    var assigned = 0
    try await withThrowingTaskGroup(of: (Double, Int).self) { group in
        var next = 1
        func launch() {
            let index = next
            next += 1
            group.addTask {
                let began = clock.now
                let done = try await run(index)
                let elapsed = clock.now - began
                return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, done)
            }
        }
        while next <= min(count, concurrency) { launch() }
        while let (latency, done) = try await group.next() {
            latencies.append(latency)
            assigned += done
            if next <= count { launch() }
        }
    }
    let elapsed = clock.now - start
    return Measurement(label: label, items: count * size, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                       latencies: latencies, assigned: assigned)
}

/// The child: `allot serve` on a free loopback port for the prepared database. Prints
/// "READY PORT KEY" once listening; stops on SIGTERM.
func serve(database: String) async throws {
    let engine = try Allot(databasePath: database)
    let key = try await engine.rotateAPIKey(tenant: tenantSlug)
    var logger = Logger(label: "allot.load.server")
    logger.logLevel = .warning
    try await runServer(host: "127.0.0.1", port: 0, engines: NodeEngines(engine), adminKey: APIKey.generate(), logger: logger) { port in
        FileHandle.standardOutput.write(Data("READY \(port) \(key)\n".utf8))
    }
}

func main() async throws {
    let options = try Options(CommandLine.arguments)
    if let database = options.serveDatabase { return try await serve(database: database) }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-http-load-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let devices = (options.batches + 1) * options.batchSize
    let inProcessPath = folder.appendingPathComponent("in-process.sqlite").path
    let httpPath = folder.appendingPathComponent("http.sqlite").path
    print("preparing two ledgers with \(devices) devices and licences each…")
    try await prepare(path: inProcessPath, devices: devices)
    try await prepare(path: httpPath, devices: devices)

    // In-process: the engine called directly, same batches, same concurrency.
    let engine = try Allot(databasePath: inProcessPath)
    let size = options.batchSize
    _ = try await engine.assign(tenant: tenantSlug, batchSerials(0, size: size).map { BatchItem(asset: app, serial: $0) })
    let inProcess = try await measure("in-process", count: options.batches, size: size, concurrency: options.concurrency) { index in
        let outcome = try await engine.assign(tenant: tenantSlug, batchSerials(index, size: size).map { BatchItem(asset: app, serial: $0) })
        return outcome.counts["assigned"] ?? 0
    }

    // HTTP: the server in a second process.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    child.arguments = ["--serve", httpPath]
    let output = Pipe()
    child.standardOutput = output
    try child.run()
    defer { if child.isRunning { child.terminate() } }
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else { throw Failure("the server process ended before it was ready") }
        line.append(chunk)
        guard line.count < 4_096 else { throw Failure("the server process printed something unexpected") }
    }
    let ready = String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace)
    guard ready.count >= 3, ready[0] == "READY", let port = Int(ready[1]) else { throw Failure("unexpected: \(String(decoding: line, as: UTF8.self))") }
    let key = String(ready[2])
    let url = "http://127.0.0.1:\(port)/v1/tenants/\(tenantSlug)/assignments"
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    @Sendable func post(_ index: Int) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONSerialization.data(withJSONObject: ["app": app.description, "serialNumbers": batchSerials(index, size: size)])
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        guard response.status == .ok else { throw Failure("batch \(index) answered \(response.status.code): \(String(buffer: bytes))") }
        let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
        return (object?["counts"] as? [String: Int])?["assigned"] ?? 0
    }
    do {
        _ = try await post(0)
        let http = try await measure("HTTP", count: options.batches, size: size, concurrency: options.concurrency, post)
        try await client.shutdown()
        child.terminate()
        child.waitUntilExit()

        print("")
        print("\(options.batches) batches of \(size) assign items, \(options.concurrency) in flight, loopback HTTP/1.1")
        print("path          allocations/s     p50 ms     p99 ms   assigned")
        for m in [inProcess, http] {
            print(m.label.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: "%15.0f %10.1f %10.1f %10d", m.rate, m.percentile(0.50) * 1000, m.percentile(0.99) * 1000, m.assigned))
        }
        print(String(format: "HTTP / in-process: %.2f× (target ≥ 0.50×)", http.rate / inProcess.rate))
        guard inProcess.assigned == inProcess.items, http.assigned == http.items else {
            throw Failure("not every item was assigned: \(inProcess.assigned) and \(http.assigned) of \(inProcess.items)")
        }
    } catch {
        try? await client.shutdown()
        throw error
    }
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("allot-http-load: \(error)\n".utf8))
    exit(1)
}
