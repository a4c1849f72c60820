import Allot
import AllotCore
import AllotServer
import AppleSimulator
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A temporary world for the API: the simulator seeded with locations and their token files,
/// an engine on a fresh SQLite file, an admin key. Removed when the test ends.
struct ServerWorld {
    let folder: URL
    let simulator: AppleSimulator
    let engine: Allot
    let adminKey = "allot_admin_" + UUID().uuidString

    static let sharedApp = "361309726:STDQ"
    static let mainOnlyApp = "409183694:STDQ"

    /// Main (10 + 3 licences), North (5), and a lab held by Apple Configurator.
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true},
                      {"adamId": "409183694", "pricingParam": "STDQ", "productType": "App", "total": 3, "deviceAssignable": true, "revocable": true}]},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]},
          {"uId": "3001", "locationName": "Configurator Lab", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z",
           "mdmInfo": {"id": "ac2-7f1e", "name": "Apple Configurator 2", "metadata": "2.17"},
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 4, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The engine runs unpaced here (`paceRequests = false`), for speed: the simulator must
        // not hold it to Apple's request rate, which it enforces by default.
        simulator = try AppleSimulator.initialize(seed: Data(Self.seed.utf8), statePath: folder.appendingPathComponent("sim.json"),
                                                  tokensDirectory: folder.appendingPathComponent("tokens"), enforceRequestRate: false)
        var settings = EngineSettings()
        settings.pollIntervalSeconds = 0
        settings.paceRequests = false
        engine = try Allot(databasePath: folder.appendingPathComponent("allot.sqlite").path, apple: simulator,
                           secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings)
    }

    var databasePath: String { folder.appendingPathComponent("allot.sqlite").path }

    func tokenFile(_ uId: String) throws -> String {
        try String(contentsOf: AppleSimulator.tokenFileURL(location: uId, tokensDirectory: folder.appendingPathComponent("tokens")), encoding: .utf8)
    }

    func renewedTokenFile(_ uId: String) async throws -> String {
        let url = try await simulator.renewToken(location: uId, tokensDirectory: folder.appendingPathComponent("tokens"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The secret inside a token file: what must never appear in an answer or a log.
    static func bearer(ofTokenFile contents: String) -> String {
        let data = Data(base64Encoded: contents.trimmingCharacters(in: .whitespacesAndNewlines))!
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return object["token"] as! String
    }

    static func serial(_ index: Int, prefix: String = "SPR") -> String {
        prefix + String(format: "%08d", index)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: folder) }
}

/// Log lines kept in memory, to check what the server writes.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        var logger = Logger(label: "allot.server.test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
                 source: String, file: String, function: String, line: UInt) {
            let all = metadata.merging(extra ?? [:]) { $1 }
            capture.lines.withLock { $0.append("\(level) \(message) \(all)") }
        }
    }
}

/// An answer: status, raw body, and the body as JSON.
struct Reply: Sendable {
    let status: Int
    let body: [UInt8]
    let headers: [(String, String)]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var code: String? { json["code"] as? String }
    func array(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }
}

/// A live server on an ephemeral loopback port and a pooled HTTP client to it.
struct Live: Sendable {
    let port: Int
    let client: HTTPClient
    var base: String { "http://127.0.0.1:\(port)" }

    /// Total bytes of answers read, a bound against a runaway server.
    static let replyBytesMax = 64 * 1024 * 1024

    func send(_ method: HTTPMethod, _ path: String, key: String? = nil, body: [UInt8]? = nil,
              headers extra: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: Self.replyBytesMax)
        return Reply(status: Int(response.status.code), body: Array(buffer.readableBytesView),
                     headers: response.headers.map { ($0.name, $0.value) })
    }

    func json(_ method: HTTPMethod, _ path: String, key: String?, _ object: Any, headers: [(String, String)] = []) async throws -> Reply {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await send(method, path, key: key, body: Array(data), headers: [("Content-Type", "application/json")] + headers)
    }

    func get(_ path: String, key: String?) async throws -> Reply { try await send(.GET, path, key: key) }

    /// Creates a tenant through the admin API and returns its key.
    func createTenant(_ slug: String, adminKey: String) async throws -> String {
        let reply = try await json(.POST, "/v1/tenants", key: adminKey, ["slug": slug])
        guard reply.status == 201, let key = reply.json["apiKey"] as? String else {
            throw TestFailure("creating tenant \(slug) answered \(reply.status): \(reply.text)")
        }
        return key
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a live server built by `buildApplication` on 127.0.0.1, port 0.
/// `configure` adjusts the configuration (shorter timeouts, fewer connections).
func withLiveServer<T: Sendable>(_ world: ServerWorld, engine: Allot? = nil, logger: Logger = Logger(label: "allot.server.test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                 configure: (inout ServerConfiguration) -> Void = { _ in },
                                 _ body: @Sendable (Live) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, adminKey: world.adminKey, logger: logger)
    configure(&configuration)
    let app = buildApplication(configuration: configuration,
                               engine: engine ?? world.engine, onServerRunning: { port in continuation.yield(port) })
    let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let value = try await body(Live(port: port, client: client))
            try await client.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            try? await client.shutdown()
            await group.triggerGracefulShutdown()
            throw error
        }
    }
}
