import AppleAppsAndBooks
import AppleHTTPClient
import AppleServiceFactory
import AppleSimulator
import AppleSimulatorServer
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The served simulator: Apple's paths, statuses, error bodies and Retry-After; the control paths.
@Suite(.timeLimit(.minutes(5))) struct SimulatorServerTests {
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    /// A simulator in a temporary folder, served on an ephemeral loopback port for `body`.
    func withServed<T: Sendable>(configuration: SimulatorServerConfiguration = SimulatorServerConfiguration(),
                                 _ body: (AppleSimulator, ServedSimulator, String) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-served-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokens = folder.appendingPathComponent("tokens")
        let simulator = try AppleSimulator.initialize(seed: Data(Self.seed.utf8), statePath: folder.appendingPathComponent("sim.json"),
                                                      tokensDirectory: tokens)
        let token = try String(contentsOf: AppleSimulator.tokenFileURL(location: "1001", tokensDirectory: tokens), encoding: .utf8)
        let served = try await ServedSimulator.start(simulator: simulator, configuration: configuration)
        do {
            let result = try await body(simulator, served, token)
            await served.stop()
            return result
        } catch {
            await served.stop()
            throw error
        }
    }

    func control(_ served: ServedSimulator, _ method: HTTPMethod, _ path: String, _ json: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: served.rootURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    @Test func theBaseURLIsOnLoopbackWithApplesPathPrefix() async throws {
        try await withServed { _, served, _ in
            #expect(served.baseURL.hasPrefix("http://127.0.0.1:"))
            #expect(served.baseURL.hasSuffix("/mdm/v2"))
            #expect(served.port > 0)
        }
    }

    @Test func applesCallsRoundTripThroughTheServer() async throws {
        try await withServed { _, served, token in
            let client = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(10), serviceConfigRefreshSeconds: 0)
            #expect(try await client.serviceConfig().limits.maxAssets > 0)
            let config = try await client.clientConfig(token: token)
            #expect(config.uId == "1001")
            #expect(config.mdmInfo == nil)
            let claimed = try await client.updateClientConfig(token: token, ClientConfigRequest(
                mdmInfo: MDMInfo(id: "6f1c1f1e-0000-4000-8000-000000000001", name: "allot", metadata: "test")))
            #expect(claimed.mdmInfo?.name == "allot")
            let assets = try await client.assets(token: token, query: AssetsQuery())
            #expect(assets.assets.first?.totalCount == 10)
            let event = try await client.associate(token: token, AssociationRequest(
                assets: [WireAssetKey(adamId: "361309726", pricingParam: "STDQ")], serialNumbers: ["C02XK1ABJG5H"]))
            let status = try await client.eventStatus(token: token, eventId: event.eventId)
            #expect(status.eventStatus == "COMPLETE")
            let assignments = try await client.assignments(token: token, query: AssignmentsQuery())
            #expect(assignments.assignments.map(\.serialNumber) == ["C02XK1ABJG5H"])
        }
    }

    @Test func applesErrorsKeepTheirStatusNumberAndRetryAfterOverTheWire() async throws {
        try await withServed { simulator, served, token in
            let client = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(10))
            try await simulator.injectFaults(.temporarilyUnavailable(retryAfterSeconds: 7), count: 1)
            try await simulator.injectFaults(.tooManyRequests, count: 1)
            let unavailable = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: token) }
            #expect(unavailable?.errorNumber == 9729)
            #expect(unavailable?.httpStatus == 503)
            #expect(unavailable?.retryAfterSeconds == 7)
            let throttled = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: token) }
            #expect(throttled?.errorNumber == 9646)
            #expect(throttled?.httpStatus == 429)

            let noToken = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: "") }
            #expect(noToken?.errorNumber == 9722)
            #expect(noToken?.httpStatus == 401)

            try await simulator.revokeToken(location: "1001")
            let revoked = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: token) }
            #expect(revoked?.classification == .tokenRevoked)
            #expect(revoked?.httpStatus == 401)
            #expect(revoked?.description.contains(token) == false)
        }
    }

    @Test func theControlPathsChangeTheWorldBehindApplesAPI() async throws {
        try await withServed { simulator, served, token in
            let client = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(10))
            var (status, body) = try await control(served, .POST, "/_sim/claim-by-configurator", #"{"location": "1001"}"#)
            #expect(status == 200)
            #expect(body.contains("Apple Configurator 2"))
            #expect(try await client.clientConfig(token: token).mdmInfo?.name == "Apple Configurator 2")

            (status, _) = try await control(served, .POST, "/_sim/faults", #"{"fault": {"internalError": {}}, "count": 1}"#)
            #expect(status == 200)
            let failed = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: token) }
            #expect(failed?.errorNumber == 9603)

            (status, _) = try await control(served, .POST, "/_sim/set-total",
                                            #"{"location": "1001", "adamId": "361309726", "pricingParam": "STDQ", "total": 3}"#)
            #expect(status == 200)
            #expect(try await client.assets(token: token, query: AssetsQuery()).assets.first?.totalCount == 3)

            (status, body) = try await control(served, .GET, "/_sim/assignments")
            #expect(status == 200)
            #expect(body == "[]")

            (status, _) = try await control(served, .POST, "/_sim/revoke-token", #"{"location": "9999"}"#)
            #expect(status == 404)
            (status, _) = try await control(served, .POST, "/_sim/page-size", #"{"size": "many"}"#)
            #expect(status == 400)

            (status, _) = try await control(served, .POST, "/_sim/expire-token", #"{"location": "1001"}"#)
            #expect(status == 200)
            let expired = await #expect(throws: AppleServiceError.self) { _ = try await client.clientConfig(token: token) }
            #expect(expired?.classification == .tokenExpired)
            _ = simulator
        }
    }

    @Test func aBodyThatIsNotApplesJSONIsRefusedWith9602() async throws {
        try await withServed { _, served, token in
            var request = HTTPClientRequest(url: served.baseURL + "/assets/associate")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(ByteBuffer(string: "{not json"))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status.code == 400)
            #expect(body.contains("9602"))
        }
    }

    @Test func theFactoryMapsSimAndHTTPSpecsAndRefusesOthers() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-factory-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = folder.appendingPathComponent("sim.json")
        _ = try AppleSimulator.initialize(seed: Data(Self.seed.utf8), statePath: state, tokensDirectory: folder.appendingPathComponent("t"))
        #expect(try makeAppleService(spec: "sim:\(state.path)") is AppleSimulator)
        let http = try #require(try makeAppleService(spec: "http://127.0.0.1:8080/mdm/v2/") as? AppleHTTPClient)
        #expect(http.baseURL == "http://127.0.0.1:8080/mdm/v2")
        #expect(try makeAppleService(spec: "https://vpp.itunes.apple.com/mdm/v2") is AppleHTTPClient)
        #expect(throws: AppleServiceSpecError.self) { _ = try makeAppleService(spec: "ftp://example") }
        #expect(throws: AppleServiceSpecError.self) { _ = try makeAppleService(spec: "sim:") }
        #expect(throws: (any Error).self) { _ = try makeAppleService(spec: "sim:\(folder.path)/missing.json") }
    }
}
