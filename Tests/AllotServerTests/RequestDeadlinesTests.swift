import AllotServer
import Foundation
import TestDeadlines
import Testing

/// Issue 28.1 over real loopback sockets: a body sent too slowly, or for too long, loses its
/// connection; a request without a valid key is refused before its body is read. Each bound
/// is shortened so the suite stays fast.
@Suite(.timeLimit(.minutes(5))) struct RequestDeadlinesTests {
    typealias RawConnection = ConnectionLimitsTests.RawConnection

    /// Sends `chunk` every `interval` until the connection is closed or `secondsMax` pass.
    static func trickle(_ connection: RawConnection, _ chunk: String, every interval: Duration, secondsMax: Double) -> Task<Void, Never> {
        Task {
            let deadline = ContinuousClock.now + .seconds(secondsMax)
            while !Task.isCancelled, ContinuousClock.now < deadline {
                connection.send(chunk)
                try? await Task.sleep(for: interval)
            }
        }
    }

    static func head(_ path: String, key: String?, contentLength: Int) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(contentLength)\r\n"
            + (key.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
    }

    @Test func aBodyBelowTheMinimumRateLosesItsConnection() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let logs = LogCapture()
        try await withLiveServer(world, logger: logs.logger(), configure: {
            $0.deadlines.bodyRateWindowSeconds = 0.3
            $0.deadlines.bodyBytesPerSecondMin = 100
        }) { live in
            let slow = try RawConnection(port: live.port)
            slow.send(Self.head("/v1/tenants", key: world.adminKey, contentLength: 1_000) + "{")
            let started = Date()
            // The issue's attack, faster: a byte every 100 ms is 10 bytes/s, under the 100 asked.
            let sender = Self.trickle(slow, " ", every: .milliseconds(100), secondsMax: 10)
            #expect(await slow.closedByServer(within: TestDeadlines.seconds(5)), "a body trickling below the minimum rate keeps its connection")
            sender.cancel()
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed >= 0.25, "closed by the rate window, not at once: \(elapsed)")
            // The operator reads which deadline closed it; the cut-short request is the
            // client's fault, never an error of the server.
            let deadline = ContinuousClock.now + .seconds(5)
            while !logs.text.contains("request body cut short"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(logs.text.contains("closing a connection past its body rate deadline"), "\(logs.text)")
            #expect(logs.text.contains("request body cut short"), "\(logs.text)")
            #expect(!logs.text.contains("error request failed"), "\(logs.text)")
            // The server is well, and a body sent at once passes the same bounds.
            #expect(try await live.get("/healthz", key: nil).status == 200)
            #expect(try await live.createTenant("springfield", adminKey: world.adminKey).hasPrefix("allot_"))
        }
    }

    @Test func aBodyThatTakesTooLongLosesItsConnectionWhateverItsRate() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world, configure: {
            // No rate to keep (a sender stalled by a busy test machine must not end it early):
            // only the total bound is under test here.
            $0.deadlines.bodyBytesPerSecondMin = 0
            $0.deadlines.bodySecondsMax = 1
        }) { live in
            let steady = try RawConnection(port: live.port)
            steady.send(Self.head("/v1/tenants", key: world.adminKey, contentLength: 100_000) + "{")
            let started = Date()
            // 20 bytes every 50 ms, steadily, but the body never ends.
            let sender = Self.trickle(steady, String(repeating: " ", count: 20), every: .milliseconds(50), secondsMax: TestDeadlines.seconds(10))
            #expect(await steady.closedByServer(within: TestDeadlines.seconds(5)))
            sender.cancel()
            let elapsed = Date().timeIntervalSince(started)
            // After the 1 s bound, and well before the sender stops (its close would then be the
            // idle timeout's): the slack scales, since a loaded machine runs the close late.
            #expect(elapsed >= 0.9 && elapsed < 1 + TestDeadlines.seconds(3), "closed at the body's total bound: \(elapsed)")
        }
    }

    @Test func aRequestWithoutAValidKeyIsRefusedBeforeItsBodyIsRead() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world, configure: {
            // No rate to keep: on a loaded machine the rate window could close the connection
            // before the 401 is written; what is under test is the answer and the close after it.
            $0.deadlines.bodyBytesPerSecondMin = 0
        }) { live in
            _ = try await live.createTenant("springfield", adminKey: world.adminKey)
            // 100 MB announced, not a byte of it sent: each answer can only come before the body.
            let announced = 100_000_000
            for (path, key) in [("/v1/tenants/springfield/webhooks", "allot_wrong"), ("/v1/tenants/springfield/assignments", nil),
                                ("/v1/tenants", "allot_wrong"), ("/apple/notifications/1", "wrong")] as [(String, String?)] {
                let connection = try RawConnection(port: live.port)
                connection.send(Self.head(path, key: key, contentLength: announced))
                let answer = await connection.answer(within: TestDeadlines.seconds(5))
                #expect(answer?.hasPrefix("HTTP/1.1 401") == true, "\(path): \(answer ?? "no answer")")
                // The unread body is not waited for: the connection is let go.
                #expect(await connection.closedByServer(within: TestDeadlines.seconds(5)), "\(path): the connection waits for a body nobody reads")
            }
        }
    }
}
