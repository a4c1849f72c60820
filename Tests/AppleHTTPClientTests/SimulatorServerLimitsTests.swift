import AppleAppsAndBooks
import AppleSimulator
import AppleSimulatorServer
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestDeadlines
import Testing

/// The served simulator's bounds (`SimulatorServerLimits`) over loopback: a body past its cap is
/// refused and changes nothing; a body that trickles loses its connection, by `allot serve`'s rule.
@Suite(.timeLimit(.minutes(5))) struct SimulatorServerLimitsTests {
    /// A simulator served on an ephemeral loopback port for `body` (`SimulatorServerTests`' world).
    func withServed<T: Sendable>(configuration: SimulatorServerConfiguration = SimulatorServerConfiguration(),
                                 _ body: (AppleSimulator, ServedSimulator, String) async throws -> T) async throws -> T {
        try await SimulatorServerTests().withServed(configuration: configuration, body)
    }

    func post(_ url: String, token: String?, body: HTTPClientRequest.Body) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = body
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(TestDeadlines.seconds(30))))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: answer))
    }

    @Test func aBodyPastTheCapIsRefusedAndChangesNothing() async throws {
        try await withServed { simulator, served, token in
            // A serial list padded one byte past the cap: valid JSON, only too big.
            let prefix = #"{"assets": [{"adamId": "361309726", "pricingParam": "STDQ"}], "serialNumbers": ["C02XK1ABJG5H"], "pad": ""#
            let suffix = #""}"#
            let padding = SimulatorServerLimits.requestBodyBytesMax + 1 - prefix.utf8.count - suffix.utf8.count
            let oversized = prefix + String(repeating: "x", count: padding) + suffix
            #expect(oversized.utf8.count == SimulatorServerLimits.requestBodyBytesMax + 1)

            let refused = try await post(served.baseURL + "/assets/associate", token: token, body: .bytes(ByteBuffer(string: oversized)))
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.text.contains("over \(SimulatorServerLimits.requestBodyBytesMax) bytes"), "\(refused.text)")
            let control = try await post(served.rootURL + "/_sim/latency", token: nil, body: .bytes(ByteBuffer(string: oversized)))
            #expect(control.status == 400, "\(control.text)")
            #expect(control.text.contains("over \(SimulatorServerLimits.requestBodyBytesMax) bytes"), "\(control.text)")

            // Nothing was assigned, and the same request within the cap is served.
            #expect(try await simulator.assignments(token: token, query: AssignmentsQuery()).assignments.isEmpty)
            let fits = #"{"assets": [{"adamId": "361309726", "pricingParam": "STDQ"}], "serialNumbers": ["C02XK1ABJG5H"]}"#
            let served200 = try await post(served.baseURL + "/assets/associate", token: token, body: .bytes(ByteBuffer(string: fits)))
            #expect(served200.status == 200, "\(served200.text)")
        }
    }

    @Test func aBodyBelowTheMinimumRateLosesItsConnection() async throws {
        var configuration = SimulatorServerConfiguration()
        configuration.deadlines.bodyRateWindowSeconds = 0.3
        configuration.deadlines.bodyBytesPerSecondMin = 100
        try await withServed(configuration: configuration) { simulator, served, token in
            // One byte, then nothing for far longer than a window: the simulator closes the
            // connection rather than wait for the rest.
            let trickle = AsyncStream<ByteBuffer> { continuation in
                let sender = Task {
                    continuation.yield(ByteBuffer(string: "{"))
                    try? await Task.sleep(for: .seconds(TestDeadlines.seconds(20)))
                    continuation.finish()
                }
                continuation.onTermination = { _ in sender.cancel() }
            }
            var outcome = "answered"
            do {
                let answer = try await post(served.baseURL + "/assets/associate", token: token, body: .stream(trickle, length: .known(Int64(1_000))))
                outcome = "answered \(answer.status): \(answer.text)"
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                outcome = "the client gave up first"
            } catch {
                outcome = "closed"
            }
            #expect(outcome == "closed", "a body trickling below the minimum rate kept its connection: \(outcome)")
            let assignments = try await simulator.assignments(token: token, query: AssignmentsQuery()).assignments
            #expect(assignments.isEmpty)
        }
    }
}
