import AppleAppsAndBooks
import AppleHTTPClient
import Foundation
import TestDeadlines
import Testing

/// The client against recorded Apple-shaped answers on a loopback server.
@Suite(.timeLimit(.minutes(5))) struct AppleHTTPClientWireTests {
    @Test func pagesAreReadWithTheBearerTokenExactlyAsInTheFileAndApplesQuery() async throws {
        let apple = RecordedApple { seen in
            let index = seen.query.contains("pageIndex=1") ? 1 : 0
            return .init(body: Recorded.assetsPage(index, of: 2))
        }
        let pages = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL + "/", timeout: TestDeadlines.duration(5))
            let first = try await client.assets(token: Recorded.token, query: AssetsQuery(pageIndex: 0))
            let second = try await client.assets(token: Recorded.token, query: AssetsQuery(pageIndex: 1, adamId: "361309726"))
            return [first, second]
        }
        #expect(pages[0].nextPageIndex == 1)
        #expect(pages[0].assets.first?.supportedPlatforms == ["iOS", "macOS"])
        #expect(pages[0].mdmInfo?.name == "allot")
        #expect(pages[1].nextPageIndex == nil)
        #expect(pages[1].currentPageIndex == 1)
        let requests = apple.requests
        #expect(requests.map(\.path) == ["/assets", "/assets"])
        #expect(requests.allSatisfy { $0.authorization == "Bearer \(Recorded.token)" })
        #expect(requests[0].query == "pageIndex=0")
        #expect(requests[1].query == "pageIndex=1&adamId=361309726")
    }

    @Test func aTokenWithWhitespaceAroundItIsSentWithoutItAndOtherTokensAsTheyAre() async throws {
        let apple = RecordedApple { _ in .init(body: Recorded.assetsPage(0, of: 1)) }
        let sent = ["  \(Recorded.token)\n", "\u{00A0}\(Recorded.token)\u{2028}", "\t\(Recorded.token)", Recorded.token]
        try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            for token in sent { _ = try await client.assets(token: token, query: AssetsQuery(pageIndex: 0)) }
        }
        #expect(apple.requests.map(\.authorization) == Array(repeating: "Bearer \(Recorded.token)", count: sent.count))
    }

    @Test func writesSendApplesJSONAndServiceConfigSendsNoToken() async throws {
        let apple = RecordedApple { seen in
            switch seen.path {
            case "/service/config": .init(body: Recorded.serviceConfig)
            default: .init(body: #"{"eventId": "ev-1", "uId": "1001"}"#)
            }
        }
        let (event, config) = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            let event = try await client.associate(token: Recorded.token, AssociationRequest(
                assets: [WireAssetKey(adamId: "361309726", pricingParam: "STDQ")], serialNumbers: ["C02XK1ABJG5H"]))
            return (event, try await client.serviceConfig())
        }
        #expect(event.eventId == "ev-1")
        #expect(config.limits.maxAssets == 25)
        let post = try #require(apple.requests.first)
        #expect(post.method == "POST")
        #expect(post.path == "/assets/associate")
        let body = try JSONDecoder().decode(AssociationRequest.self, from: Data(post.body.utf8))
        #expect(body.serialNumbers == ["C02XK1ABJG5H"])
        #expect(body.clientUserIds == nil)
        #expect(post.body.contains("clientUserIds") == false)
        #expect(apple.requests.last?.authorization == nil)
    }

    @Test func anErrorBodyWithStatus200IsAnAppleError() async throws {
        let apple = RecordedApple { _ in .init(status: 200, body: Recorded.error(9625, "The server has revoked the sToken.")) }
        let error = try await apple.serve { baseURL in
            await #expect(throws: AppleServiceError.self) {
                _ = try await AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5)).clientConfig(token: Recorded.token)
            }
        }
        #expect(error?.errorNumber == 9625)
        #expect(error?.httpStatus == 200)
        #expect(error?.classification == .tokenRevoked)
    }

    @Test func errorsWith4xxAnd5xxCarryTheirNumberStatusAndRetryAfter() async throws {
        let apple = RecordedApple { seen in
            switch seen.path {
            case "/client/config": .init(status: 401, body: Recorded.error(9621, "The sToken has expired."))
            case "/assets": .init(status: 503, body: Recorded.error(9729, "temporarily unavailable"), headers: ["Retry-After": "7"])
            case "/assignments": .init(status: 429, body: Recorded.error(9646, "Too many requests"))
            case "/status": .init(status: 500, body: "<html>Internal Server Error</html>", headers: ["Retry-After": "3"])
            default: .init(status: 502, body: "")
            }
        }
        let errors: [AppleServiceError?] = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            return [
                await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: Recorded.token) },
                await #expect(throws: AppleServiceError.self) { _ = try await client.assets(token: Recorded.token, query: AssetsQuery()) },
                await #expect(throws: AppleServiceError.self) { _ = try await client.assignments(token: Recorded.token, query: AssignmentsQuery()) },
                await #expect(throws: AppleServiceError.self) { _ = try await client.eventStatus(token: Recorded.token, eventId: "ev-1") },
                await #expect(throws: AppleServiceError.self) { _ = try await client.revoke(token: Recorded.token, RevokeRequest(serialNumbers: ["X"])) },
            ]
        }
        #expect(errors[0]?.classification == .tokenExpired)
        #expect(errors[0]?.httpStatus == 401)
        #expect(errors[1]?.errorNumber == 9729)
        #expect(errors[1]?.retryAfterSeconds == 7)
        #expect(errors[1]?.classification == .retryLater)
        #expect(errors[2]?.errorNumber == 9646)
        #expect(errors[2]?.retryAfterSeconds == nil)
        #expect(errors[2]?.classification == .retryLater)
        // No error body (a proxy's page): the status names Apple's error, Retry-After still obeyed.
        #expect(errors[3]?.errorNumber == 9603)
        #expect(errors[3]?.retryAfterSeconds == 3)
        #expect(errors[4]?.errorNumber == 9603)
        #expect(errors[4]?.httpStatus == 502)
        // Handed to the outbox once: the client never retries by itself.
        #expect(apple.requests.count == 5)
    }

    @Test func retryAfterAsAnHTTPDateIsReadAsSecondsFromNow() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        // An hour ahead: the whole suite runs in parallel, and on a loaded machine this test has
        // taken over two minutes between writing the header and reading it.
        let date = formatter.string(from: Date().addingTimeInterval(3_600))
        let apple = RecordedApple { _ in .init(status: 503, body: Recorded.error(9729, "later"), headers: ["Retry-After": date]) }
        let error = try await apple.serve { baseURL in
            await #expect(throws: AppleServiceError.self) {
                _ = try await AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5)).clientConfig(token: Recorded.token)
            }
        }
        let seconds = try #require(error?.retryAfterSeconds)
        // Loose below (ten minutes): a loaded machine can take a while between the header and its reading.
        #expect((3_000...3_601).contains(seconds))
    }

    @Test func mdmInfoOfAnotherServerIsReturnedAsApplesAnswer() async throws {
        let apple = RecordedApple { seen in
            seen.method == "POST" ? .init(body: Recorded.clientConfig(mdmInfo: Recorded.ourMDM))
                : .init(body: Recorded.clientConfig(mdmInfo: Recorded.configuratorMDM))
        }
        let (read, written) = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            let read = try await client.clientConfig(token: Recorded.token)
            let written = try await client.updateClientConfig(token: Recorded.token, ClientConfigRequest(
                mdmInfo: MDMInfo(id: "6f1c1f1e-0000-4000-8000-000000000001", name: "allot", metadata: "1.0")))
            return (read, written)
        }
        #expect(read.mdmInfo?.name == "Apple Configurator 2")
        #expect(read.mdmInfo?.id == "ac2-7f1e")
        #expect(read.uId == "1001")
        #expect(written.mdmInfo?.name == "allot")
        let post = try #require(apple.requests.last)
        #expect(post.body.contains(#""mdmInfo""#))
        #expect(post.body.contains("notificationAuthToken") == false)
    }

    @Test func anUnclaimedLocationHasNoMDMInfo() async throws {
        let apple = RecordedApple { _ in .init(body: Recorded.clientConfig(mdmInfo: nil)) }
        let config = try await apple.serve { baseURL in
            try await AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5)).clientConfig(token: Recorded.token)
        }
        #expect(config.mdmInfo == nil)
    }

    @Test func malformedJSONIsAClientErrorThatNamesThePathButNotTheToken() async throws {
        let apple = RecordedApple { seen in
            switch seen.path {
            case "/assets": .init(body: #"{"assets": [{"adamId": 361309726}], "currentPageIndex": 0"#)
            case "/assignments": .init(body: #"{"assignments": "none", "currentPageIndex": 0, "totalPages": 1, "size": 0, "versionId": "v1"}"#)
            default: .init(status: 404, body: "not here")
            }
        }
        let errors: [AppleHTTPClientError?] = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            return [
                await #expect(throws: AppleHTTPClientError.self) { _ = try await client.assets(token: Recorded.token, query: AssetsQuery()) },
                await #expect(throws: AppleHTTPClientError.self) { _ = try await client.assignments(token: Recorded.token, query: AssignmentsQuery()) },
                await #expect(throws: AppleHTTPClientError.self) { _ = try await client.clientConfig(token: Recorded.token) },
            ]
        }
        #expect(errors[0]?.isMalformedAnswer == true)
        #expect(errors[0]?.description.contains("/assets") == true)
        #expect(errors[1]?.isMalformedAnswer == true)
        #expect(errors[1]?.description.contains("assignments") == true)
        #expect(errors[2]?.isUnexpectedStatus == true)
        #expect(errors[2]?.httpStatus == 404)
        for error in errors {
            let text = "\(String(describing: error)) \(String(reflecting: error))"
            #expect(text.contains(Recorded.token) == false)
            #expect(text.contains("secret-token") == false)
        }
    }

    @Test func aSlowServerTimesOutWithinTheClientsTimeout() async throws {
        let apple = RecordedApple { _ in .init(body: Recorded.clientConfig(mdmInfo: nil), delay: .seconds(3)) }
        // A timeout error (not the answer, which comes after 3 s) shows the client gave up on its
        // own deadline; no wall-clock bound is asserted, since this machine is shared and noisy.
        let error = try await apple.serve { baseURL in
            await #expect(throws: AppleHTTPClientError.self) {
                _ = try await AppleHTTPClient(baseURL: baseURL, timeout: .milliseconds(500)).clientConfig(token: Recorded.token)
            }
        }
        #expect(error?.isTimeout == true)
        #expect(error?.description.contains(Recorded.token) == false)
    }

    @Test func aServerThatIsNotThereIsATransportError() async throws {
        // Port 9 (discard) is closed on loopback here; the connection is refused at once.
        let client = AppleHTTPClient(baseURL: "http://127.0.0.1:9/mdm/v2", timeout: .seconds(2))
        await #expect(throws: AppleHTTPClientError.self) {
            _ = try await client.clientConfig(token: Recorded.token)
        }
    }

    @Test func atMostFivePagesAreInFlightAtOnce() async throws {
        let apple = RecordedApple { _ in .init(body: Recorded.emptyAssignmentsPage, delay: .milliseconds(150)) }
        let peak = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: .seconds(10))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask { _ = try await client.assignments(token: Recorded.token, query: AssignmentsQuery(pageIndex: index)) }
                }
                try await group.waitForAll()
            }
            return await client.pagesInFlightPeak()
        }
        #expect(apple.requests.count == 12)
        #expect(apple.peakInFlight <= AppleHTTPClient.pagesInFlightMax)
        #expect(peak == AppleHTTPClient.pagesInFlightMax)
    }

    @Test func serviceConfigIsReadAgainOnlyAfterItsRefreshInterval() async throws {
        let apple = RecordedApple { _ in .init(body: Recorded.serviceConfig) }
        try await apple.serve { baseURL in
            let cached = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            for _ in 0..<3 { _ = try await cached.serviceConfig() }
            let uncached = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5), serviceConfigRefreshSeconds: 0)
            for _ in 0..<3 { _ = try await uncached.serviceConfig() }
        }
        #expect(apple.requests.count == 1 + 3)
    }
}
