import Allot
import AllotCore
import AllotServer
import Crypto
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// A receiver of webhook posts on loopback: records every post, and fails the first ones it is
/// told to (500, then 503 with Retry-After), as a receiver being deployed would.
final class TestReceiver: Sendable {
    struct Post: Sendable {
        let eventId: Int64
        let attempt: Int
        let signature: String
        let body: [UInt8]
    }

    private let posts = Mutex<[Post]>([])
    /// How many of the first posts fail.
    let failingFirst: Int

    init(failingFirst: Int) { self.failingFirst = failingFirst }

    var received: [Post] { posts.withLock { $0 } }

    func serve<T: Sendable>(_ body: @Sendable (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("hooks/allot") { request, _ in try await self.receive(request) }
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "test-receiver") { _ in SwiftLogNoOpLogHandler() }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in readyContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await group.run() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the receiver did not start") }
        defer { server.cancel() }
        let result = try await body("http://127.0.0.1:\(port)/hooks/allot")
        await group.triggerGracefulShutdown()
        _ = await server.result
        return result
    }

    private func receive(_ request: Request) async throws -> Response {
        var request = request
        let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
        func header(_ name: String) -> String { request.headers.first { $0.name.canonicalName == name.lowercased() }?.value ?? "" }
        let post = Post(eventId: Int64(header(WebhookHeaders.eventId)) ?? -1, attempt: Int(header(WebhookHeaders.attempt)) ?? -1,
                        signature: header(WebhookHeaders.signature), body: body)
        let index = posts.withLock { posts in
            posts.append(post)
            return posts.count
        }
        if index <= failingFirst {
            var headers = HTTPFields()
            if index % 2 == 0 { headers[.retryAfter] = "0" }
            return Response(status: index % 2 == 0 ? .serviceUnavailable : .internalServerError, headers: headers)
        }
        return Response(status: .noContent)
    }
}

@Suite struct WebhookDeliveryTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-webhook-http-\(UUID().uuidString)")
    let box = SecretBox(key: SymmetricKey(size: .bits256))
    /// Both engines count into it, as one process's would across a restart.
    let registry = PrometheusCollectorRegistry()

    /// An engine on the test's ledger; a new one is a restarted server. Retries wait no time.
    func engine() throws -> Allot {
        var settings = EngineSettings()
        settings.webhookRetry = WebhookRetryPolicy(backoff: Backoff(baseSeconds: 0, delaySecondsMax: 0))
        settings.metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: registry))
        return try Allot(databasePath: folder.appendingPathComponent("allot.sqlite").path, secrets: box, settings: settings)
    }

    /// Runs a sender until `until` holds (at most 20 s), then stops it as `allot serve` does.
    func runSender(_ engine: Allot, until: @escaping @Sendable () -> Bool) async throws {
        let logger = Logger(label: "webhook-sender-test") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(configuration: .init(services: [WebhookSender(engine: engine, logger: logger, idleSeconds: 0.02)], logger: logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !until(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    func roster(_ engine: Allot, _ serial: String) async throws {
        _ = try await engine.importRoster(tenant: "springfield", csv: Array("serial_number\n\(serial)\n".utf8))
    }

    @Test func everyEventArrivesSignedInOrderThroughFailuresAndARestart() async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let receiver = TestReceiver(failingFirst: 3)
        try await receiver.serve { url in
            let first = try engine()
            _ = try await first.createTenant(slug: "springfield")
            let (_, secret) = try await first.addWebhook(tenant: "springfield", url: url)
            for index in 1...5 { try await roster(first, "DMPX100000\(index)A") }
            // The first server delivers some of them (after three failed tries), then stops.
            try await runSender(first) { Set(receiver.received.filter { $0.attempt > 0 }.map(\.eventId)).count >= 3 }
            let deliveredBeforeRestart = Set(receiver.received.map(\.eventId)).count
            for index in 6...8 { try await roster(first, "DMPX100000\(index)A") }

            // A new engine on the same ledger: nothing in memory survives, the cursor does.
            let second = try engine()
            try await runSender(second) { (try? self.backlog(second)) == 0 }
            #expect(try await second.webhookBacklog() == 0)

            let expected = try await second.events(tenant: "springfield", limit: 100).map(\.id).sorted()
                .drop { $0 < (receiver.received.first?.eventId ?? 0) }
            let posts = receiver.received
            var firstSeen: [Int64] = []
            for post in posts where !firstSeen.contains(post.eventId) { firstSeen.append(post.eventId) }
            #expect(firstSeen == Array(expected), "every event once, in the order recorded")
            #expect(zip(posts, posts.dropFirst()).allSatisfy { $0.eventId <= $1.eventId }, "never an earlier event after a later one")
            #expect(deliveredBeforeRestart < expected.count, "the restart came in the middle")
            #expect(posts.prefix(4).map(\.attempt) == [1, 2, 3, 4], "the first event was retried through three failures")
            let counted = MetricsTests.Scrape(registry.emitToString())
            #expect(counted.value("allot_webhook_posts_total", ["result": "retrying"]) == 3)
            #expect(counted.value("allot_webhook_posts_total", ["result": "delivered"]).map(Int.init) == firstSeen.count, "each event once (a post cut short by the stop is not counted)")
            for post in posts {
                let mac = HMAC<SHA256>.authenticationCode(for: post.body, using: SymmetricKey(data: Array(secret.utf8)))
                #expect(post.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined(), "event \(post.eventId)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(post.body)) as? [String: Any])
                #expect((json["id"] as? Int).map(Int64.init) == post.eventId)
                #expect(json["kind"] is String)
                #expect(json["at"] is String)
                #expect(json.keys.contains("tokenId"))
                #expect(json["detail"] is [String: Any])
            }
        }
    }

    func backlog(_ engine: Allot) throws -> Int {
        // Read through a ledger of its own: the check runs beside the sender, not on its actor.
        try Ledger(path: folder.appendingPathComponent("allot.sqlite").path).webhookBacklog()
    }
}
