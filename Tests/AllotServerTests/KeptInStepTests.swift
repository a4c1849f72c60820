import Allot
import AllotStore
import AllotCore
import AllotServer
import AppleAppsAndBooks
import AppleSimulator
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import ServiceLifecycle
import TestDeadlines
import Testing

/// Issue 12, points 1 to 3, over real HTTP on loopback: the in-process server with its
/// reconcile schedule and outbox worker, and the simulator, whose notification sender posts to
/// the server's receiver. Nothing here asks the server anything: what changed at Apple is
/// noticed by the server on its own.
@Suite(.timeLimit(.minutes(5))) struct KeptInStepTests {
    static let quiet = Logger(label: "allot.server.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// An engine that polls Apple's events only after an hour: what completes an operation
    /// sooner is a notification.
    static func engine(_ world: ServerWorld, pollAfterSeconds: Int64 = 0) throws -> Allot {
        var settings = EngineSettings()
        settings.paceRequests = false
        settings.pollIntervalSeconds = pollAfterSeconds
        settings.firstPollDelaySeconds = pollAfterSeconds
        return try Allot(databasePath: world.folder.appendingPathComponent("kept.sqlite").path, apple: world.simulator,
                         secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings)
    }

    /// Runs the server, the outbox worker and the reconcile schedule (ticking fast) until `body` ends.
    static func serving<T: Sendable>(_ world: ServerWorld, _ engine: Allot, interval: SyncInterval?, publicURL: Bool,
                                     logs: LogCapture = LogCapture(),
                                     _ body: @Sendable (Live) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, adminKey: world.adminKey, logger: quiet)
        let app = buildApplication(configuration: configuration, engine: engine, onServerRunning: { continuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: quiet))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
            if publicURL { try await engine.receiveNotifications(publicURL: "http://127.0.0.1:\(port)/") }
            var settings = ReconcileSettings(interval: interval, publicURL: publicURL ? "http://127.0.0.1:\(port)" : nil)
            settings.tickSeconds = 0.1
            settings.receiverRetrySeconds = 0.5
            let background = ServiceGroup(configuration: .init(services: [
                OutboxWorker(engine: engine, logger: logs.logger(), idleSeconds: 0.1, drainSeconds: 1),
                ReconcileScheduler(engine: engine, settings: settings, logger: logs.logger()),
            ], logger: quiet))
            tasks.addTask { try await background.run() }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let value = try await body(Live(port: port, client: client))
                try await client.shutdown()
                await background.triggerGracefulShutdown()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                try? await client.shutdown()
                await background.triggerGracefulShutdown()
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// Each wait below ends as soon as what it waits for happened (about a second alone); the
    /// bound is for a machine busy with the whole suite.
    static let patienceSeconds = 20.0

    static func kinds(_ engine: Allot) async throws -> [String] {
        try await engine.events(tenant: "springfield", limit: 1_000).map(\.kind)
    }

    @Test func aClaimAnExpiryAndARefundAreNoticedWithinOneIntervalWithoutAnyRequest() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try Self.engine(world)
        _ = try await engine.createTenant(slug: "springfield")
        let main = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
        let north = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1002"))
        _ = try await engine.registerDevices(tenant: "springfield", (1...8).map { DeviceInput(serial: SerialNumber(ServerWorld.serial($0))!) })
        let app = AssetKey(adamId: "409183694")
        _ = try await engine.assign(tenant: "springfield", (1...3).map { BatchItem(asset: app, serial: ServerWorld.serial($0)) })
        _ = try await engine.push(tenant: "springfield")

        let logs = LogCapture()
        try await Self.serving(world, engine, interval: SyncInterval(seconds: 1), publicURL: false, logs: logs) { _ in
            // Apple Configurator takes North; Main's only copy of app 409183694 is refunded to 1.
            try await world.simulator.claim(location: "1002", mdmInfo: MDMInfo(id: "ac2-1", name: "Apple Configurator 2", metadata: "2.17"))
            try await world.simulator.setTotal(location: "1001", adamId: "409183694", pricingParam: "STDQ", total: 1)
            let noticed = try await TestDeadlines.eventually(Self.patienceSeconds) {
                let kinds = try await Self.kinds(engine)
                return kinds.contains("token_claimed") && kinds.contains("over_allocated")
            }
            let seen = try await Self.kinds(engine)
            #expect(noticed, "seen: \(seen); logs: \(logs.text)")
            let tokens = try await engine.tokens(tenant: "springfield")
            #expect(tokens.first { $0.id == north.id }?.state == .claimedElsewhere)
            #expect(tokens.first { $0.id == north.id }?.ownerName == "Apple Configurator 2")

            // Then Main's token expires at Apple.
            try await world.simulator.expireToken(location: "1001")
            let expired = try await TestDeadlines.eventually(Self.patienceSeconds) { try await Self.kinds(engine).contains("token_expired") }
            let seenThen = try await Self.kinds(engine)
            #expect(expired, "seen: \(seenThen); logs: \(logs.text)")
            #expect(try await engine.tokens(tenant: "springfield").first { $0.id == main.id }?.state == .expired)
        }
        // Each alert once, however many syncs ran.
        let kinds = try await Self.kinds(engine)
        #expect(kinds.count { $0 == "token_claimed" } == 1)
        #expect(kinds.count { $0 == "over_allocated" } == 1)
        #expect(kinds.count { $0 == "token_expired" } == 1)
        // The scheduled tokens have their next sync recorded in the ledger.
        #expect(try await engine.nextScheduledSync(token: main.id) != nil)
    }

    @Test func aNotificationCompletesAnOperationBeforeAnyPoll() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try Self.engine(world, pollAfterSeconds: 3_600)
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.registerDevices(tenant: "springfield", (1...4).map { DeviceInput(serial: SerialNumber(ServerWorld.serial($0))!) })

        let logs = LogCapture()
        try await Self.serving(world, engine, interval: nil, publicURL: true, logs: logs) { live in
            // Added while the server receives: configured at once, Apple's test notification taken.
            let token = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
            let configured = try await TestDeadlines.eventually(Self.patienceSeconds) { try await Self.kinds(engine).contains("notifications_configured") }
            #expect(configured, "logs: \(logs.text)")

            _ = try await engine.assign(tenant: "springfield", (1...4).map { BatchItem(asset: AssetKey(adamId: "361309726"), serial: ServerWorld.serial($0)) })
            let sent = try await TestDeadlines.eventually(Self.patienceSeconds) { try await engine.outbox(tenant: "springfield").allSatisfy { $0.state == .sent } }
            #expect(sent)
            // Apple finishes the event (the next call that touches the location settles it) and
            // notifies; the first poll is an hour away.
            _ = try await world.simulator.allAssignments(location: "1001")
            let done = try await TestDeadlines.eventually(Self.patienceSeconds) { try await engine.outbox(tenant: "springfield").allSatisfy { $0.state == .done } }
            let states = try await engine.outbox(tenant: "springfield").map(\.state)
            #expect(done, "outbox: \(states)")
            let operation = try #require(try await engine.outbox(tenant: "springfield").first)
            #expect(operation.attempts == 1, "sent once, never polled")
            let holders = try await engine.holders(tenant: "springfield", asset: AssetKey(adamId: "361309726"), limit: 10).holdings
            #expect(holders.count == 4)
            #expect(holders.allSatisfy { $0.confirmed })

            // A refund told by ASSET_COUNT moves the pool's total at once.
            try await world.simulator.setTotal(location: "1001", adamId: "361309726", pricingParam: "STDQ", total: 3)
            let moved = try await TestDeadlines.eventually(Self.patienceSeconds) {
                try await engine.apps(tenant: "springfield").first { $0.adamId == "361309726" }?.total == 3
            }
            #expect(moved)
            let kinds = try await Self.kinds(engine)
            #expect(kinds.contains("apple_count_changed"))
            #expect(kinds.contains("over_allocated"))
            #expect(kinds.contains("licences_low"))
            _ = token
            _ = live
        }
    }

    /// Issue 14 with issue 12: a purchase Apple tells by ASSET_COUNT serves the queue of unmet
    /// demand at once, in order, without a sync.
    @Test func aPurchaseToldByAssetCountServesTheQueueAtOnce() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try Self.engine(world, pollAfterSeconds: 3_600)
        let app = AssetKey(adamId: "361309726")
        _ = try await engine.createTenant(slug: "springfield")
        let logs = LogCapture()
        try await Self.serving(world, engine, interval: nil, publicURL: true, logs: logs) { _ in
            _ = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
            let configured = try await TestDeadlines.eventually(Self.patienceSeconds) { try await Self.kinds(engine).contains("notifications_configured") }
            #expect(configured, "logs: \(logs.text)")
            let total = try #require(try await engine.apps(tenant: "springfield").first { $0.adamId == app.adamId }?.total)
            let serials = (1...(total + 2)).map { ServerWorld.serial($0) }
            _ = try await engine.registerDevices(tenant: "springfield", serials.map { DeviceInput(serial: SerialNumber($0)!) })
            let outcome = try await engine.assign(tenant: "springfield", serials.map { BatchItem(asset: app, serial: $0) }, queue: true)
            #expect(outcome.counts["queued"] == 2)
            let waiting = try await engine.queue(tenant: "springfield", asset: app).map(\.serialNumber)
            #expect(waiting == Array(serials.suffix(2)))

            // One more licence bought at Apple: the head of the queue gets it, the other waits.
            try await world.simulator.setTotal(location: "1001", adamId: app.adamId, pricingParam: "STDQ", total: total + 1)
            let served = try await TestDeadlines.eventually(Self.patienceSeconds) {
                try await engine.queue(tenant: "springfield", asset: app).count == 1
            }
            #expect(served, "logs: \(logs.text)")
            #expect(try await engine.queue(tenant: "springfield", asset: app).map(\.serialNumber) == [serials.last!])
            let holders = try await engine.holders(tenant: "springfield", asset: app, limit: 100).holdings.map(\.serialNumber)
            #expect(holders.contains(waiting[0]))
            #expect(!holders.contains(serials.last!))
            #expect(try await Self.kinds(engine).contains("queue_served"))
        }
    }

    @Test func aFailureNotificationMakesTheOperationsPollDueAtOnce() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try Self.engine(world, pollAfterSeconds: 3_600)
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.registerDevices(tenant: "springfield", (1...2).map { DeviceInput(serial: SerialNumber(ServerWorld.serial($0))!) })

        let logs = LogCapture()
        try await Self.serving(world, engine, interval: nil, publicURL: true, logs: logs) { _ in
            _ = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
            let configured = try await TestDeadlines.eventually(Self.patienceSeconds) { try await Self.kinds(engine).contains("notifications_configured") }
            #expect(configured, "logs: \(logs.text)")
            try await world.simulator.failNextEvents(count: 1)
            _ = try await engine.assign(tenant: "springfield", (1...2).map { BatchItem(asset: AssetKey(adamId: "361309726"), serial: ServerWorld.serial($0)) })
            let sent = try await TestDeadlines.eventually(Self.patienceSeconds) { try await engine.outbox(tenant: "springfield").allSatisfy { $0.state == .sent } }
            #expect(sent)
            // Apple fails the event and says so: the poll, an hour away, is made now, and the
            // operation leaves `sent` (sent again, or given up, as the poll's answer says).
            _ = try await world.simulator.allAssignments(location: "1001")
            let polled = try await TestDeadlines.eventually(Self.patienceSeconds) {
                try await engine.outbox(tenant: "springfield").allSatisfy { $0.state != .sent || $0.attempts > 1 }
            }
            let states = try await engine.outbox(tenant: "springfield").map { "\($0.state) \($0.attempts)" }
            #expect(polled, "outbox: \(states)")
        }
    }

    @Test func duplicatesAndBadBearersChangeNothing() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try Self.engine(world)
        _ = try await engine.createTenant(slug: "springfield")

        try await Self.serving(world, engine, interval: nil, publicURL: true) { live in
            let token = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
            let path = "/apple/notifications/\(token.id.rawValue)"
            let count: [String: Any] = ["notificationType": "ASSET_COUNT", "notificationId": "forged-1", "uId": "1001",
                                        "notification": ["adamId": "361309726", "pricingParam": "STDQ", "countDelta": -9]]
            let before = try await engine.apps(tenant: "springfield")
            // The schedule may configure the receiver once more meanwhile: that event is not the forger's.
            func eventsOtherThanConfiguration() async throws -> Int {
                try await engine.events(tenant: "springfield", limit: 1_000).count { $0.kind != "notifications_configured" }
            }
            let eventsBefore = try await eventsOtherThanConfiguration()
            for bearer in [nil, "Bearer wrong", "Bearer ", "Basic abc", "Bearer " + String(repeating: "x", count: 5_000)] as [String?] {
                let reply = try await live.json(.POST, path, key: nil, count, headers: bearer.map { [("Authorization", $0)] } ?? [])
                #expect(reply.status == 401, "\(bearer ?? "none"): \(reply.status) \(reply.text)")
                #expect(reply.code == "unauthorized")
            }
            // Another token's path, or no token at all, is the same 401.
            #expect(try await live.json(.POST, "/apple/notifications/999", key: nil, count).status == 401)
            #expect(try await live.json(.POST, "/apple/notifications/abc", key: nil, count).status == 401)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await engine.apps(tenant: "springfield") == before)
            #expect(try await eventsOtherThanConfiguration() == eventsBefore)

            // Apple sends every notification twice: each is worked on once.
            try await world.simulator.duplicateNotifications(true)
            try await world.simulator.setTotal(location: "1001", adamId: "361309726", pricingParam: "STDQ", total: 7)
            let moved = try await TestDeadlines.eventually(Self.patienceSeconds) {
                try await engine.apps(tenant: "springfield").first { $0.adamId == "361309726" }?.total == 7
            }
            #expect(moved)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await engine.apps(tenant: "springfield").first { $0.adamId == "361309726" }?.total == 7, "moved by -3 once, not twice")
            #expect(try await Self.kinds(engine).count { $0 == "apple_count_changed" } == 1)
        }
    }
}
