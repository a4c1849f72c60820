import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleHTTPClient
import Foundation
import Testing

/// Issue 17: the engine's state after answers in Apple's documented shapes, replayed over
/// loopback HTTP to the real client.
@Suite(.timeLimit(.minutes(5))) struct DocumentedAppleEngineTests {
    /// Answers every call a token's life makes; each test changes what it is about.
    struct Answers: Sendable {
        var assets: @Sendable (_ uId: String) -> RecordedApple.Answer = { uId in
            .init(body: Documented.assets([Documented.asset(total: 15000, assigned: 5000, available: 10000)], uId: uId))
        }
        var assignments: @Sendable (_ seen: RecordedApple.Seen) -> RecordedApple.Answer = { seen in
            .init(body: Documented.assignments([], uId: Documented.location(seen), versionId: "v1"))
        }
        var clientConfig: @Sendable (_ uId: String) -> String = { Documented.clientConfig(uId: $0) }
        var serviceConfig = Documented.settingUpServiceConfig

        func answer(_ seen: RecordedApple.Seen) -> RecordedApple.Answer {
            let uId = Documented.location(seen)
            switch seen.path {
            case "/service/config": return .init(body: serviceConfig)
            case "/client/config": return .init(body: clientConfig(uId))
            case "/assets": return assets(uId)
            case "/assignments": return assignments(seen)
            case "/assets/associate", "/assets/disassociate":
                return .init(body: Documented.event("ev-\(abs(seen.body.hashValue))", uId: uId))
            case "/status": return .init(body: Documented.completed(type: "ASSOCIATE", requested: 1, uId: uId))
            default: return .init(status: 404, body: Documented.error(9602, "Invalid argument."))
            }
        }
    }

    /// Serves `answers`, makes an engine with a tenant of two devices and the north token
    /// added, runs `body`, and returns its result with every request Apple saw.
    func withNorthToken<T: Sendable>(_ answers: Answers = Answers(),
                                     _ body: @Sendable (RecordedEngine, TokenRecord, RecordedApple) async throws -> T) async throws -> (T, [RecordedApple.Seen]) {
        let apple = RecordedApple { answers.answer($0) }
        let result = try await apple.serve { baseURL in
            let world = try RecordedEngine(baseURL: baseURL)
            defer { world.cleanUp() }
            try await world.tenant()
            let token = try await world.engine.addToken(tenant: "springfield", fileContents: Documented.northToken)
            return try await body(world, token, apple)
        }
        return (result, apple.requests)
    }

    @Test func aServiceConfigWithoutSomeLimitsKeepsThoseItGivesAndOneSerialGoesPerCall() async throws {
        let (pushed, requests) = try await withNorthToken { world, _, _ in
            let items = RecordedEngine.serials.map { BatchItem(asset: AssetKey(adamId: Documented.app), serial: $0) }
            let outcome = try await world.engine.assign(tenant: "springfield", items)
            #expect(outcome.counts["assigned"] == 2)
            return try await world.engine.push(tenant: "springfield")
        }
        #expect(pushed.unfinished == 0)
        #expect(pushed.completed == 2)
        let associations = requests.filter { $0.path == "/assets/associate" }
        #expect(associations.count == 2)
        for request in associations {
            let body = try JSONDecoder().decode(AssociationRequest.self, from: Data(request.body.utf8))
            #expect(body.serialNumbers?.count == 1)
        }
    }

    @Test func aServiceConfigIsReadLimitByLimitAndNamesWhatItDefaulted() throws {
        let config = try JSONDecoder().decode(ServiceConfig.self, from: Data(Documented.settingUpServiceConfig.utf8))
        #expect(config.limits.maxSerialNumbers == 1)
        #expect(config.limits.maxAssets == 25)
        #expect(config.limits.maxRequestPerSecond == ServiceLimits.appleDefaults.maxRequestPerSecond)
        #expect(config.defaultedLimits == ["maxRequestPerSecond"])
        #expect(config.errorCodes.isEmpty)
        #expect(config.urls["status"] != nil)
        let unreadable = try JSONDecoder().decode(ServiceConfig.self, from: Data(#"{"limits": {"maxSerialNumbers": "many", "maxAssets": 0}}"#.utf8))
        #expect(unreadable.limits == ServiceLimits.appleDefaults)
        #expect(Set(unreadable.defaultedLimits) == Set(["maxAssets", "maxSerialNumbers", "maxClientUserIds", "maxRevokeSerialNumbers",
                                                        "maxRevokeClientUserIds", "maxRequestPerSecond"]))
    }

    @Test func aMalformedAssetsPageIsThatTokensErrorAndTheOtherTokenIsStillSynced() async throws {
        let malformed = Switch()
        var answers = Answers()
        answers.assets = { uId in
            let broken = malformed.isOn && uId == "2049025000431439"
            return .init(body: Documented.assets([Documented.asset(total: 10, assigned: 0, available: 10, productType: broken ? nil : "App")], uId: uId))
        }
        let (reports, _) = try await withNorthToken(answers) { world, _, _ in
            _ = try await world.engine.addToken(tenant: "springfield", fileContents: Documented.southToken)
            malformed.turnOn()
            return try await world.engine.sync(tenant: "springfield")
        }
        #expect(reports.count == 2)
        let north = try #require(reports.first { $0.locationUid == "2049025000431439" })
        let south = try #require(reports.first { $0.locationUid == "2049025000431440" })
        #expect(north.error?.contains("productType") == true)
        #expect(north.error?.contains("documented-secret") == false)
        #expect(south.error == nil)
        #expect(south.assets == 1)
        #expect(south.assignmentsRead == .full)
    }

    @Test func applesExpiryDateWinsOverTheFilesAndDrivesTheWarning() async throws {
        var answers = Answers()
        // Apple's date with a -0700 offset: 2026-12-10T15:00:00Z, nine days after the clock.
        answers.clientConfig = { Documented.clientConfig(uId: $0, expiry: "2026-12-10T08:00:00-0700") }
        let ((reports, events), _) = try await withNorthToken(answers) { world, token, _ in
            #expect(token.expiresAt == Int64(VPPTokenFile.parseExpiry("2026-12-10T15:00:00+0000")!.timeIntervalSince1970))
            return (try await world.engine.sync(tenant: "springfield"), try await world.engine.events(tenant: "springfield", limit: 100))
        }
        let report = try #require(reports.first)
        #expect(report.warnings.contains { $0.contains("expires in 9 day(s)") })
        #expect(report.subscribedNotificationTypes == ["ASSET_COUNT", "ASSET_MANAGEMENT"])
        #expect(events.contains { $0.kind == "token_expiry_from_apple" })
        // Apple's example echoes the notification secret: it never reaches what allot keeps.
        #expect(!events.contains { $0.detail.contains(Documented.notificationAuthToken) })
        #expect(!String(decoding: try JSONEncoder().encode(reports), as: UTF8.self).contains(Documented.notificationAuthToken))
    }

    @Test func anExpiryDateAppleSaysHasPassedExpiresTheTokenWhateverTheFileSays() async throws {
        var answers = Answers()
        // A real case: the file said 2027-06-30 while Apple said 2023-09-26.
        answers.clientConfig = { Documented.clientConfig(uId: $0, expiry: "2023-09-26T22:33:22+0000") }
        let (token, _) = try await withNorthToken(answers) { _, token, _ in token }
        #expect(token.state == .expired)
        #expect(token.expiresAt == Int64(VPPTokenFile.parseExpiry("2023-09-26T22:33:22+0000")!.timeIntervalSince1970))
        #expect(!token.isUsable(now: RecordedEngine.now))
    }

    @Test func aClientConfigWithoutAnExpiryDateKeepsTheFilesDate() async throws {
        var answers = Answers()
        // Apple sends tokenExpirationDate only within 15 days of expiry; a real POST answer
        // also carries an `apnToken` allot does not read.
        answers.clientConfig = { Documented.clientConfig(uId: $0, expiry: nil).replacingOccurrences(of: "\"uId\"", with: "\"apnToken\": null, \"uId\"") }
        let (token, _) = try await withNorthToken(answers) { _, token, _ in token }
        #expect(token.expiresAt == Int64(VPPTokenFile.parseExpiry("2027-06-30T22:33:22+0000")!.timeIntervalSince1970))
        #expect(token.state == .active)
    }

    @Test func anAvailableCountThatDiffersFromTheLedgersArithmeticIsReported() async throws {
        var answers = Answers()
        answers.assets = { uId in
            .init(body: Documented.assets([Documented.asset(total: 10, assigned: 2, available: 5, retired: 3),
                                           Documented.asset("361309726", total: 15000, assigned: 5000, available: 10000)], uId: uId))
        }
        let ((reports, events), _) = try await withNorthToken(answers) { world, _, _ in
            (try await world.engine.sync(tenant: "springfield"), try await world.engine.events(tenant: "springfield", limit: 100))
        }
        let report = try #require(reports.first)
        #expect(report.countDifferences == [CountDifference(asset: AssetKey(adamId: Documented.app), appleAvailable: 5, ledgerAvailable: 8, retired: 3)])
        #expect(report.warnings.contains { $0.contains("Apple counts 5 available") && $0.contains("3 retired") })
        #expect(events.contains { $0.kind == "apple_counts_differ" })
    }

    @Test func anUnlimitedFreeAssetIsCarriedAsUnlimitedNotAsTwoBillionLicences() async throws {
        var answers = Answers()
        answers.assets = { uId in
            .init(body: Documented.assets([Documented.asset(total: 2_147_483_647, assigned: 0, available: 2_147_483_647)], uId: uId))
        }
        let ((pools, reports), _) = try await withNorthToken(answers) { world, _, _ in
            let reports = try await world.engine.sync(tenant: "springfield")
            return (try await world.engine.apps(tenant: "springfield"), reports)
        }
        let pool = try #require(pools.first)
        #expect(pool.unlimited)
        #expect(pool.tokens.allSatisfy { $0.unlimited })
        #expect(reports.first?.countDifferences.isEmpty == true)
    }

    @Test func anUnchangedLocationReadsOnePageAndAnUnknownVersionFallsBackToAFullRead() async throws {
        let unknownVersion = Switch()
        var answers = Answers()
        answers.assignments = { seen in
            if seen.query.contains("sinceVersionId"), unknownVersion.isOn {
                return .init(status: 400, body: Documented.error(9721, "Invalid sinceVersionId."))
            }
            return .init(body: Documented.assignments([], uId: Documented.location(seen), versionId: "v1"))
        }
        let ((first, unchanged, fallback, unchangedCalls, fallbackCalls), _) = try await withNorthToken(answers) { world, _, apple in
            let first = try await world.engine.sync(tenant: "springfield")
            let beforeUnchanged = apple.requests.count
            let unchanged = try await world.engine.sync(tenant: "springfield")
            let unchangedCalls = Array(apple.requests.dropFirst(beforeUnchanged))
            let beforeFallback = apple.requests.count
            unknownVersion.turnOn()
            let fallback = try await world.engine.sync(tenant: "springfield")
            return (first, unchanged, fallback, unchangedCalls, Array(apple.requests.dropFirst(beforeFallback)))
        }
        #expect(first.first?.assignmentsRead == .full)
        #expect(unchanged.first?.assignmentsRead == .unchanged)
        #expect(unchangedCalls.filter { $0.path == "/assignments" }.map(\.query) == ["pageIndex=0&sinceVersionId=v1"])
        #expect(fallback.first?.assignmentsRead == .full)
        #expect(fallback.first?.error == nil)
        #expect(fallbackCalls.filter { $0.path == "/assignments" }.map(\.query) == ["pageIndex=0&sinceVersionId=v1", "pageIndex=0"])
    }

    @Test func anAssignmentAppleListsButTheLedgerDoesNotIsDriftAndRepairRecordsIt() async throws {
        var answers = Answers()
        answers.assets = { uId in
            .init(body: Documented.assets([Documented.asset(total: 10, assigned: 1, available: 9)], uId: uId))
        }
        answers.assignments = { seen in
            .init(body: Documented.assignments([RecordedEngine.serials[0]], uId: Documented.location(seen), versionId: "v2"))
        }
        let ((found, repaired, after, pools), _) = try await withNorthToken(answers) { world, _, _ in
            let found = try await world.engine.sync(tenant: "springfield")
            let repaired = try await world.engine.sync(tenant: "springfield", repair: true)
            let after = try await world.engine.sync(tenant: "springfield")
            return (found, repaired, after, try await world.engine.apps(tenant: "springfield"))
        }
        #expect(found.first?.drift == [AssignmentDrift(.unknownToLedger, HeldLicence(asset: AssetKey(adamId: Documented.app), serial: RecordedEngine.serials[0]))])
        #expect(repaired.first?.repair?.recorded == 1)
        #expect(after.first?.drift.isEmpty == true)
        let pool = try #require(pools.first)
        #expect(pool.assigned == 1)
        #expect(pool.available == 9)
    }
}
