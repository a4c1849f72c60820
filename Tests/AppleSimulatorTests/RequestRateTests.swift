import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Apple holds every token to `maxRequestPerSecond`; so does the simulator, unless told not to,
/// so that whoever tests against it meets 9646 (HTTP 429, `Retry-After`) as they would at Apple.
@Suite(.timeLimit(.minutes(5))) struct RequestRateTests {
    @Test(.timeLimit(.minutes(1)))
    func aSimulatorMadeFromASeedWithoutSettingsEnforcesApplesRate() async throws {
        let fixture = try SimulatorFixture(enforceRequestRate: true)
        let calls = 2 * ServiceLimits.appleDefaults.maxRequestPerSecond + 1
        let token = try fixture.token()
        var refused: [AppleServiceError] = []
        var windows = Set<Int>()
        for _ in 0..<calls {
            windows.insert(Int(Date().timeIntervalSince1970))
            do {
                _ = try await fixture.simulator.clientConfig(token: token)
            } catch let error as AppleServiceError {
                refused.append(error)
            }
        }
        windows.insert(Int(Date().timeIntervalSince1970))
        // However slow the machine: at most the limit pass in each one-second window touched.
        #expect(calls - refused.count <= windows.count * ServiceLimits.appleDefaults.maxRequestPerSecond)
        if windows.count <= 2 { #expect(!refused.isEmpty, "\(calls) calls in \(windows.count) windows were all answered") }
        for error in refused {
            #expect(error.errorNumber == AppleErrorNumber.tooManyRequests)
            #expect(error.httpStatus == 429)
            #expect(error.retryAfterSeconds == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aSimulatorToldNotToEnforceTheRateAnswersEveryCall() async throws {
        let fixture = try SimulatorFixture(enforceRequestRate: false)
        let token = try fixture.token()
        for _ in 0..<(3 * ServiceLimits.appleDefaults.maxRequestPerSecond) {
            _ = try await fixture.simulator.clientConfig(token: token)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theSeedsSettingTurnsTheRateOff() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-rate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = """
            {"locations": [{"uId": "1001", "locationName": "Main", "orgName": "Org", "expires": "2099-09-01T00:00:00Z",
              "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 1, "deviceAssignable": true, "revocable": true}]}],
             "settings": {"enforceRequestRate": false}}
            """
        let tokens = folder.appendingPathComponent("tokens")
        let simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: folder.appendingPathComponent("sim.sqlite"), tokensDirectory: tokens)
        let token = try String(contentsOf: AppleSimulator.tokenFileURL(location: "1001", tokensDirectory: tokens), encoding: .utf8)
        for _ in 0..<(3 * ServiceLimits.appleDefaults.maxRequestPerSecond) {
            _ = try await simulator.clientConfig(token: token)
        }
    }
}
