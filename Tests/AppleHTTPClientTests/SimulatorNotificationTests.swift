import AppleAppsAndBooks
import AppleSimulator
import AppleSimulatorServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TestDeadlines
import Testing

/// A receiver of Apple's notifications on loopback: records every POST it accepts, and answers
/// 500 to the next `failNext(_:)` ones (or to all, with `failAll`).
final class NotificationReceiver: Sendable {
    struct Received: Sendable {
        var authorization: String?
        var body: Data
        var type: String
        var notificationId: String
    }

    /// What the route closure and the test share.
    final class Log: Sendable {
        let accepted = Mutex<[Received]>([])
        let failuresLeft = Mutex(0)
        let posts = Mutex(0)
    }

    let url: String
    private let log: Log
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(url: String, log: Log, group: ServiceGroup, task: Task<Void, any Error>) {
        self.url = url
        self.log = log
        self.group = group
        self.task = task
    }

    static func start(failAll: Bool = false) async throws -> NotificationReceiver {
        let log = Log()
        let router = Router()
        router.post("/notify") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let body = Data(buffer.readableBytesView)
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
            log.posts.withLock { $0 += 1 }
            if failAll { return Response(status: .internalServerError) }
            let refuse = log.failuresLeft.withLock { left in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
            if refuse { return Response(status: .internalServerError) }
            let received = Received(authorization: request.headers[.authorization], body: body,
                                    type: object?["notificationType"] as? String ?? "",
                                    notificationId: object?["notificationId"] as? String ?? "")
            log.accepted.withLock { $0.append(received) }
            return Response(status: .ok)
        }
        let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test.receiver")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ready.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return NotificationReceiver(url: "http://127.0.0.1:\(port)/notify", log: log, group: group, task: task)
    }

    var notifications: [Received] { log.accepted.withLock { $0 } }
    /// Every POST that reached the receiver, refused ones included.
    var postCount: Int { log.posts.withLock { $0 } }
    func failNext(_ count: Int) { log.failuresLeft.withLock { $0 = count } }

    /// Waits (bounded) until `count` notifications of `type` arrived.
    func wait(for count: Int, of type: String, secondsMax: Double = 30) async throws -> [Received] {
        let deadline = TestDeadlines.date(after: secondsMax)
        while Date() < deadline {
            let matching = notifications.filter { $0.type == type }
            if matching.count >= count { return matching }
            try await Task.sleep(for: .milliseconds(20))
        }
        return notifications.filter { $0.type == type }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

@Suite(.timeLimit(.minutes(5))) struct SimulatorNotificationTests {
    static let ours = MDMInfo(id: "ours", name: "allot", metadata: "1.0")
    static let receiverToken = "receiver-secret-42"

    func configure(_ world: RulesWorld, _ receiver: NotificationReceiver, types: [String]? = nil) async throws -> ClientConfig {
        try await world.apple.updateClientConfig(token: world.token(), ClientConfigRequest(
            mdmInfo: Self.ours, notificationUrl: receiver.url, notificationAuthToken: Self.receiverToken, notificationTypes: types))
    }

    @Test(arguments: SimulatorTransport.allCases)
    func configuringAReceiverSendsATestNotificationWithBearerAuth(_ transport: SimulatorTransport) async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(transport) { world in
            let config = try await configure(world, receiver)
            #expect(config.notificationUrl == receiver.url)
            let tests = receiver.notifications.filter { $0.type == "TEST_NOTIFICATION" }
            #expect(tests.count == 1)
            #expect(tests.first?.authorization == "Bearer \(Self.receiverToken)")
            #expect(tests.first?.notificationId.isEmpty == false)
            // The receiver's secret is never answered back.
            let read = try await world.apple.clientConfig(token: world.token())
            #expect(!"\(read)".contains(Self.receiverToken))
        }
        await receiver.stop()
    }

    @Test(arguments: SimulatorTransport.allCases)
    func aReceiverThatRefusesTheTestNotificationRefusesTheConfigurationWith9728(_ transport: SimulatorTransport) async throws {
        let receiver = try await NotificationReceiver.start(failAll: true)
        try await withRules(transport) { world in
            let error = await appleFailure { try await configure(world, receiver) }
            #expect(error?.errorNumber == 9728)
            let config = try await world.apple.clientConfig(token: world.token())
            #expect(config.notificationUrl == nil)
            #expect(config.mdmInfo == nil)
        }
        await receiver.stop()
    }

    @Test(arguments: SimulatorTransport.allCases)
    func badNotificationSettingsAnswer9710To9712(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let token = try world.token()
            let cases: [(ClientConfigRequest, Int)] = [
                (ClientConfigRequest(mdmInfo: Self.ours, notificationUrl: "not a url", notificationAuthToken: "t"), 9710),
                (ClientConfigRequest(mdmInfo: Self.ours, notificationUrl: "http://127.0.0.1:9/n", notificationAuthToken: "has space"), 9711),
                (ClientConfigRequest(mdmInfo: Self.ours, notificationUrl: "http://127.0.0.1:9/n", notificationAuthToken: "t",
                                     notificationTypes: ["NOT_A_TYPE"]), 9712),
            ]
            for (request, number) in cases {
                let error = await appleFailure { try await world.apple.updateClientConfig(token: token, request) }
                #expect(error?.errorNumber == number)
            }
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func aCompletedEventIsNotifiedInChunksOfAtMost100Assignments(_ transport: SimulatorTransport) async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(transport, seed: RulesWorld.seed(appTotal: 500)) { world in
            _ = try await configure(world, receiver)
            let status = try await world.assign((0..<150).map { "N\($0)" })
            #expect(status.eventStatus == "COMPLETE")
            let arrived = try await receiver.wait(for: 2, of: "ASSET_MANAGEMENT")
            let bodies = try arrived.map { try JSONDecoder().decode(SimulatorNotification<AssetManagementNotification>.self, from: $0.body) }
            #expect(bodies.map(\.notification.assignments.count).sorted() == [50, 100])
            #expect(Set(bodies.flatMap { $0.notification.assignments.compactMap(\.serialNumber) }).count == 150)
            #expect(bodies.allSatisfy { $0.notification.result == "SUCCESS" && $0.notification.type == "ASSOCIATE" && $0.uId == "1001" })
            #expect(arrived.allSatisfy { $0.authorization == "Bearer \(Self.receiverToken)" })
        }
        await receiver.stop()
    }

    @Test func setTotalIsNotifiedAsAnAssetCountDelta() async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(.http) { world in
            _ = try await configure(world, receiver)
            try await world.simulator.setTotal(location: "1001", adamId: RulesWorld.app.adamId, pricingParam: "STDQ", total: 25)
            let arrived = try await receiver.wait(for: 1, of: "ASSET_COUNT")
            let body = try JSONDecoder().decode(SimulatorNotification<AssetCountNotification>.self, from: try #require(arrived.first).body)
            #expect(body.notification == AssetCountNotification(adamId: RulesWorld.app.adamId, pricingParam: "STDQ", countDelta: 15))
        }
        await receiver.stop()
    }

    @Test func aFailingReceiverIsTriedThreeTimes() async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(.inProcess) { world in
            _ = try await configure(world, receiver, types: ["ASSET_COUNT"])
            receiver.failNext(2)
            try await world.simulator.setTotal(location: "1001", adamId: RulesWorld.app.adamId, pricingParam: "STDQ", total: 7)
            let arrived = try await receiver.wait(for: 1, of: "ASSET_COUNT")
            #expect(arrived.count == 1)
            // The test notification, then two refused tries and the one that landed.
            #expect(receiver.postCount == 4)
        }
        await receiver.stop()
    }

    @Test func aReceiverThatNeverAnswersIsGivenUpAfterThreeTries() async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(.inProcess) { world in
            _ = try await configure(world, receiver, types: ["ASSET_COUNT"])
            receiver.failNext(100)
            try await world.simulator.setTotal(location: "1001", adamId: RulesWorld.app.adamId, pricingParam: "STDQ", total: 8)
            await world.simulator.finishNotifications(secondsMax: 30)
            #expect(receiver.postCount == 1 + 3)
        }
        await receiver.stop()
    }

    @Test func duplicatesOnPurposeKeepTheirNotificationId() async throws {
        let receiver = try await NotificationReceiver.start()
        try await withRules(.inProcess) { world in
            _ = try await configure(world, receiver)
            try await world.simulator.duplicateNotifications(true)
            try await world.simulator.setTotal(location: "1001", adamId: RulesWorld.app.adamId, pricingParam: "STDQ", total: 12)
            let arrived = try await receiver.wait(for: 2, of: "ASSET_COUNT")
            #expect(arrived.count == 2)
            #expect(Set(arrived.map(\.notificationId)).count == 1)
        }
        await receiver.stop()
    }
}
