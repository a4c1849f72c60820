import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AppleSimulatorServer
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// How a test reaches the simulator: each rule is checked once each way, with the same assertions.
enum SimulatorTransport: String, CaseIterable, Sendable, CustomStringConvertible {
    case inProcess
    case http
    var description: String { rawValue }
}

/// A simulator in a temporary folder, reached in process or over loopback HTTP.
final class RulesWorld: Sendable {
    static let app = WireAssetKey(adamId: "361309726", pricingParam: "STDQ")
    static let freeApp = WireAssetKey(adamId: "424242424", pricingParam: "STDQ")

    let folder: URL
    let simulator: AppleSimulator
    let apple: any AppsAndBooksService
    let served: ServedSimulator?

    /// Main (1001: 10 licences of `app`, an unlimited free app, expiring `mainExpires`) and
    /// Annex (1002: 5 licences).
    static func seed(mainExpires: Date = Date().addingTimeInterval(365 * 86_400), appTotal: Int = 10) -> String {
        let expires = ISO8601DateFormatter().string(from: mainExpires)
        return """
            {"locations": [
              {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "\(expires)", "mdmInfo": null,
               "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \(appTotal), "deviceAssignable": true, "revocable": true},
                          {"adamId": "\(freeApp.adamId)", "pricingParam": "STDQ", "productType": "App", "total": 0, "unlimited": true, "deviceAssignable": true, "revocable": true}]},
              {"uId": "1002", "locationName": "Annex", "orgName": "Springfield Schools", "expires": "2099-01-01T00:00:00Z", "mdmInfo": null,
               "assets": [{"adamId": "\(app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]}
            ]}
            """
    }

    init(_ transport: SimulatorTransport, seed: String = RulesWorld.seed()) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The rules are checked with calls back to back: Apple's request rate (enforced by
        // default) is off here, and on in the one test about it.
        simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: folder.appendingPathComponent("sim.sqlite"),
                                                  tokensDirectory: folder.appendingPathComponent("tokens"), enforceRequestRate: false)
        switch transport {
        case .inProcess:
            served = nil
            apple = simulator
        case .http:
            let served = try await ServedSimulator.start(simulator: simulator)
            self.served = served
            apple = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(20), serviceConfigRefreshSeconds: 0)
        }
    }

    func token(_ uId: String = "1001") throws -> String {
        try String(contentsOf: AppleSimulator.tokenFileURL(location: uId, tokensDirectory: folder.appendingPathComponent("tokens")), encoding: .utf8)
    }

    /// Associates and polls until the event is no longer PENDING (within a bound).
    func assign(_ serials: [String], asset: WireAssetKey = RulesWorld.app, uId: String = "1001") async throws -> EventStatus {
        let token = try token(uId)
        let event = try await apple.associate(token: token, AssociationRequest(assets: [asset], serialNumbers: serials))
        for _ in 0..<20 {
            let status = try await apple.eventStatus(token: token, eventId: event.eventId)
            if status.eventStatus != "PENDING" { return status }
        }
        Issue.record("event \(event.eventId) still PENDING")
        return try await apple.eventStatus(token: token, eventId: event.eventId)
    }

    func cleanUp() async {
        await served?.stop()
        await simulator.finishNotifications(secondsMax: 1)
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Runs `body` in a fresh world and always cleans up.
func withRules(_ transport: SimulatorTransport, seed: String = RulesWorld.seed(), _ body: (RulesWorld) async throws -> Void) async throws {
    let world = try await RulesWorld(transport, seed: seed)
    do {
        try await body(world)
        await world.cleanUp()
    } catch {
        await world.cleanUp()
        throw error
    }
}

/// The Apple error a call threw, or a recorded issue.
func appleFailure<T>(_ call: () async throws -> T) async -> AppleServiceError? {
    do {
        _ = try await call()
        Issue.record("expected an Apple error, the call succeeded")
        return nil
    } catch let error as AppleServiceError {
        return error
    } catch {
        Issue.record("expected an Apple error, got \(error)")
        return nil
    }
}

@Suite(.timeLimit(.minutes(5))) struct SimulatorRulesTests {
    @Test(arguments: SimulatorTransport.allCases)
    func callsAboveTheRatePerTokenAnswer9646With429AndRetryAfter(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            var limits = ServiceLimits.appleDefaults
            limits.maxRequestPerSecond = 3
            try await world.simulator.setLimits(limits)
            try await world.simulator.enforceRequestRate(true)
            let token = try world.token()
            let apple = world.apple
            // Ten calls at once. However slow the machine, no one-second window lets more than 3
            // through; when the burst fits in 3 windows, some must be refused.
            let started = Date()
            let answers = await withTaskGroup(of: AppleServiceError?.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await apple.clientConfig(token: token)
                            return nil
                        } catch let error as AppleServiceError {
                            return error
                        } catch {
                            Issue.record("unexpected \(error)")
                            return nil
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let windows = Int(Date().timeIntervalSince1970) - Int(started.timeIntervalSince1970) + 1
            let refusals = answers.compactMap { $0 }
            let accepted = answers.count - refusals.count
            #expect(accepted <= 3 * windows)
            if windows <= 3 { #expect(!refusals.isEmpty) }
            for refusal in refusals {
                #expect(refusal.errorNumber == 9646)
                #expect(refusal.httpStatus == 429)
                #expect(refusal.retryAfterSeconds == 1)
            }
            // Another token has its own budget.
            _ = try await world.apple.clientConfig(token: world.token("1002"))
            try await Task.sleep(for: .milliseconds(1_100))
            _ = try await world.apple.clientConfig(token: token)
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func theRateIsNotEnforcedByDefault(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let token = try world.token()
            for _ in 0..<40 { _ = try await world.apple.clientConfig(token: token) }
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func revokingMoreThanMaxRevokeSerialNumbersIsRefusedWith9702(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let serials = (0...100).map { "R\($0)" }
            let error = await appleFailure { try await world.apple.revoke(token: world.token(), RevokeRequest(serialNumbers: serials)) }
            #expect(error?.errorNumber == 9702)
            #expect(error?.httpStatus == 400)
            _ = try await world.apple.revoke(token: world.token(), RevokeRequest(serialNumbers: Array(serials.prefix(100))))
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func anUnlimitedFreeAssetReadsTwoBillionAndNeverRunsOut(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let status = try await world.assign((0..<30).map { "F\($0)" }, asset: RulesWorld.freeApp)
            #expect(status.eventStatus == "COMPLETE")
            #expect(status.numCompleted == 30)
            let page = try await world.apple.assets(token: world.token(), query: AssetsQuery(adamId: RulesWorld.freeApp.adamId))
            let asset = try #require(page.assets.first)
            #expect(asset.totalCount == 2_147_483_647)
            #expect(asset.assignedCount == 30)
            #expect(asset.availableCount == 2_147_483_647 - 30)
        }
    }

    /// Over HTTP by hand: the engine's client does not send `unlimited` (yet).
    @Test func askedWithUnlimitedTheFreeAssetComesApartWithoutCounts() async throws {
        try await withRules(.http) { world in
            _ = try await world.assign(["F1"], asset: RulesWorld.freeApp)
            let served = try #require(world.served)
            var request = HTTPClientRequest(url: served.baseURL + "/assets?unlimited=true")
            request.headers.add(name: "Authorization", value: "Bearer \(try world.token())")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            let page = try JSONDecoder().decode(AssetsPage.self, from: Data(body.readableBytesView))
            #expect(page.assets.map(\.adamId) == [RulesWorld.app.adamId])
            let free = try #require(page.unlimitedAssets?.first)
            #expect(free.adamId == RulesWorld.freeApp.adamId)
            #expect(free.assignedCount == 1)
            let raw = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
            let rawFree = try #require((raw["unlimitedAssets"] as? [[String: Any]])?.first)
            #expect(rawFree["totalCount"] == nil)
            // In process, the same query gives the same answer.
            let inProcess = try await world.simulator.assets(token: world.token(), query: AssetsQuery(unlimited: true))
            #expect(inProcess.unlimitedAssets == page.unlimitedAssets)
            #expect(inProcess.assets == page.assets)
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func injectedMaintenanceGoneAndForbiddenAnswerApplesNumbers(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let token = try world.token()
            let cases: [(SimulatedFault, Int, Int, Int?)] = [
                (.maintenance(retryAfterSeconds: 60), 9644, 503, 60),
                (.gone, 9634, 410, nil),
                (.forbidden, 9637, 403, nil),
                (.forbiddenForToken, 9647, 403, nil),
            ]
            for (fault, number, status, retryAfter) in cases {
                try await world.simulator.injectFaults(fault, count: 1)
                let error = await appleFailure { try await world.apple.assets(token: token, query: AssetsQuery()) }
                #expect(error?.errorNumber == number)
                #expect(error?.httpStatus == status)
                #expect(error?.retryAfterSeconds == retryAfter)
            }
            _ = try await world.apple.assets(token: token, query: AssetsQuery())
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func aFailedEventCarriesItsPartialNumCompleted(_ transport: SimulatorTransport) async throws {
        try await withRules(transport, seed: RulesWorld.seed(appTotal: 2)) { world in
            let status = try await world.assign(["P1", "P2", "P3"])
            #expect(status.eventStatus == "FAILED")
            #expect(status.numRequested == 3)
            #expect(status.numCompleted == 2)
            #expect(status.failures?.first?.errorNumber == 9709)
            #expect(status.failures?.first?.errorInfo?.serialNumbers == ["P3"])
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func tokenExpirationDateIsAnsweredOnlyWithin15DaysOfExpiry(_ transport: SimulatorTransport) async throws {
        try await withRules(transport, seed: RulesWorld.seed(mainExpires: Date().addingTimeInterval(10 * 86_400))) { world in
            let near = try await world.apple.assets(token: world.token("1001"), query: AssetsQuery())
            #expect(near.tokenExpirationDate != nil)
            let far = try await world.apple.assets(token: world.token("1002"), query: AssetsQuery())
            #expect(far.tokenExpirationDate == nil)
            // client/config is where an engine learns the date: always there.
            #expect(try await world.apple.clientConfig(token: world.token("1002")).tokenExpirationDate == "2099-01-01T00:00:00+0000")
        }
    }

    @Test(arguments: SimulatorTransport.allCases)
    func sinceVersionIdAnswersOnlyWhatWasAssignedSince(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let token = try world.token()
            _ = try await world.assign(["V1", "V2"])
            let before = try await world.apple.assignments(token: token, query: AssignmentsQuery())
            #expect(before.size == 2)
            _ = try await world.assign(["V3"])
            let since = try await world.apple.assignments(token: token, query: AssignmentsQuery(sinceVersionId: before.versionId))
            #expect(since.assignments.map(\.serialNumber) == ["V3"])
            #expect(since.size == 1)
            // An unchanged location reads one empty page.
            let unchanged = try await world.apple.assignments(token: token, query: AssignmentsQuery(sinceVersionId: since.versionId))
            #expect(unchanged.assignments.isEmpty)
            #expect(unchanged.totalPages == 1)
            #expect(unchanged.nextPageIndex == nil)
            for unknown in ["1001-v999999", "1002-v1", "garbage"] {
                let error = await appleFailure { try await world.apple.assignments(token: token, query: AssignmentsQuery(sinceVersionId: unknown)) }
                #expect(error?.errorNumber == 9721)
            }
        }
    }

    /// Not a wall-clock bound (the suite runs in parallel on two cores): each answer takes at
    /// least the latency, and all of them were in flight at the same moment, which a
    /// simulator that held requests while it waited could not do.
    @Test(arguments: SimulatorTransport.allCases)
    func answersAreDelayedByTheLatencyWithoutQueueingBehindEachOther(_ transport: SimulatorTransport) async throws {
        try await withRules(transport) { world in
            let latency = Duration.milliseconds(300)
            try await world.simulator.setLatency(milliseconds: 300)
            let token = try world.token()
            let apple = world.apple
            let clock = ContinuousClock()
            let intervals = try await withThrowingTaskGroup(of: (ContinuousClock.Instant, ContinuousClock.Instant).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let start = clock.now
                        _ = try await apple.assets(token: token, query: AssetsQuery())
                        return (start, clock.now)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(intervals.count == 20)
            #expect(intervals.allSatisfy { $0.1 - $0.0 >= latency })
            let lastStart = try #require(intervals.map(\.0).max())
            let firstEnd = try #require(intervals.map(\.1).min())
            #expect(lastStart < firstEnd, "the 20 requests were not all in flight at once")
            // Errors are delayed too.
            let errorStart = clock.now
            _ = await appleFailure { try await apple.assets(token: "not-a-token", query: AssetsQuery()) }
            #expect(clock.now - errorStart >= latency)
        }
    }
}
