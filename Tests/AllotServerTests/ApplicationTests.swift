import Allot
import AllotCore
import AllotServer
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import TestDeadlines
import Testing

/// The application as a whole: the OpenAPI document agrees with the routes; graceful shutdown
/// lets in-flight work finish; the admin key's hash file.
@Suite(.timeLimit(.minutes(5))) struct ApplicationTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// "METHOD /path" for every operation under `paths:` of openapi.yaml. A line-based reader:
    /// a path is a key at indent 2, an operation a method key at indent 4.
    static func documentedOperations() throws -> Set<String> {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var operations = Set<String>()
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmingCharacters(in: .whitespaces)
            if content.isEmpty || content.hasPrefix("#") { continue }
            if indent == 0 {
                inPaths = content == "paths:"
                path = nil
                continue
            }
            guard inPaths else { continue }
            if indent == 2, content.hasPrefix("/"), content.hasSuffix(":") {
                path = String(content.dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            } else if indent == 4, let path, content.hasSuffix(":"), methods.contains(String(content.dropLast())) {
                operations.insert("\(content.dropLast().uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func theOpenAPIDocumentDescribesExactlyTheRoutesTheServerHas() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let router = buildRouter(configuration: ServerConfiguration(adminKey: world.adminKey), engine: world.engine)
        let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
        let documented = try Self.documentedOperations()
        #expect(served.count >= 20)
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
    }

    @Test func theDocumentIsOpenAPI31AndNamesTheErrorCodes() throws {
        let text = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        #expect(text.hasPrefix("openapi: 3.1"))
        for code in ["not_found", "invalid_input", "conflict", "apple", "too_large", "unauthorized", "internal"] {
            #expect(text.contains(code), "\(code) is not documented")
        }
    }

    @Test func gracefulShutdownLetsAnInFlightBatchFinish() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, adminKey: world.adminKey, logger: logger)
        let metrics = PrometheusCollectorRegistry()
        configuration.metricsRegistry = metrics
        let app = buildApplication(configuration: configuration, engine: world.engine, onServerRunning: { continuation.yield($0) })
        let worker = OutboxWorker(engine: world.engine, logger: logger, idleSeconds: 0.05)
        let group = ServiceGroup(configuration: .init(services: [worker, app], logger: logger))
        let count = 30_000
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let openConnections = { FairConnectionLimitsTests.scrape(metrics).value("allot_connections_open") ?? 0 }
            let key = try await withHTTPClient { client in
                try await Live(port: port, client: client).createTenant("springfield", adminKey: world.adminKey)
            }
            // The batch goes on a connection of its own, and the stop comes once that connection
            // is open (the tenant's is closed by then): a fixed pause alone could stop the server
            // before a loaded machine's client connects, or close an idle pooled connection the
            // batch was about to use.
            #expect(try await TestDeadlines.eventually(10) { openConnections() == 0 }, "the tenant's connection stayed open")
            let devices = (1...count).map { ["serialNumber": ServerWorld.serial($0)] }
            try await withHTTPClient { client in
                async let reply = Live(port: port, client: client).json(.POST, "/v1/tenants/springfield/devices", key: key, ["devices": devices])
                #expect(try await TestDeadlines.eventually(10) { openConnections() >= 1 }, "the batch's connection never opened")
                try await Task.sleep(for: .milliseconds(150))
                await group.triggerGracefulShutdown()
                let answer = try await reply
                #expect(answer.status == 200)
                #expect(answer.json["imported"] as? Int == count)
            }
            try await tasks.waitForAll()
        }
        // Every device is in the ledger after the server stopped.
        let reopened = try Allot(databasePath: world.databasePath)
        #expect(try await reopened.devices(tenant: "springfield").count == count)
    }

    @Test func theAdminKeyIsCreatedOnceAndOnlyItsHashIsKept() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("allot.sqlite").path
        #expect(try AdminKey.resolve(databasePath: database, environment: ["ALLOT_ADMIN_KEY": "secret-admin"]) == APIKey.hash("secret-admin"))
        #expect(!FileManager.default.fileExists(atPath: AdminKey.hashFile(databasePath: database)))
        let first = try AdminKey.resolve(databasePath: database, environment: [:])
        let second = try AdminKey.resolve(databasePath: database, environment: [:])
        #expect(first == second)
        #expect(first.count == 64)
        let attributes = try FileManager.default.attributesOfItem(atPath: AdminKey.hashFile(databasePath: database))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func keysAreRandomAndComparedInConstantTime() {
        let keys = Set((0..<100).map { _ in APIKey.generate() })
        #expect(keys.count == 100)
        #expect(keys.allSatisfy { $0.hasPrefix(APIKey.prefix) && !$0.contains("+") && !$0.contains("/") && !$0.contains("=") })
        #expect(APIKey.constantTimeEqual("abc", "abc"))
        #expect(!APIKey.constantTimeEqual("abc", "abd"))
        #expect(!APIKey.constantTimeEqual("abc", "abcd"))
    }
}

/// Runs `body` with an HTTP client of its own, shut down on every path (a client left without
/// its shutdown stops the test process in its deinit).
func withHTTPClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
