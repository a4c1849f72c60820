import AllotCore
@testable import AllotServer
import Foundation
import Prometheus
import TestDeadlines
import Testing

/// Issue 28.2 over real loopback sockets: one client address cannot take the server, and at
/// the cap `/healthz` and requests with a key still get through. Other clients are other
/// addresses of 127.0.0.0/8. Each bound is shortened so the suite stays fast.
@Suite(.timeLimit(.minutes(5))) struct FairConnectionLimitsTests {
    typealias RawConnection = ConnectionLimitsTests.RawConnection

    static let healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    /// Opens `count` connections from `source` and gives the server the moment it takes to
    /// accept them.
    static func hold(_ count: Int, from source: String, port: Int) async throws -> [RawConnection] {
        let held = try (0..<count).map { _ in try RawConnection(port: port, from: source) }
        try await Task.sleep(for: .milliseconds(300))
        return held
    }

    @Test func aClientPastItsBoundIsRefusedWhileAnotherIsServed() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let logs = LogCapture()
        let metrics = PrometheusCollectorRegistry()
        try await withLiveServer(world, logger: logs.logger(), configure: {
            $0.connections.perAddressMax = 4
            $0.connections.reserved = 0
            // Below the 44 this test opens: a refused connection must give its place back.
            $0.connections.openMax = 8
            $0.metricsRegistry = metrics
        }) { live in
            let held = try await Self.hold(4, from: "127.0.0.2", port: live.port)
            // The issue's flood, smaller: 40 more from the same address, each closed at once (the
            // idle timeout is 30 s here: a close within 5 s is the refusal).
            let flood = try (0..<40).map { _ in try RawConnection(port: live.port, from: "127.0.0.2") }
            let closed = await withTaskGroup(of: Bool.self) { group in
                for connection in flood { group.addTask { await connection.closedByServer(within: TestDeadlines.seconds(5)) } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(closed == 40, "connections past their address's bound stay open")
            // Another client is served, on a fresh connection, during and after the flood.
            let other = try RawConnection(port: live.port, from: "127.0.0.3")
            other.send(Self.healthz)
            let answer = await other.answer(within: TestDeadlines.seconds(5))
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
            // The connections within the bound were not touched.
            #expect(await held[0].closedByServer(within: 0.2) == false)
            held[1].send(Self.healthz)
            let heldAnswer = await held[1].answer(within: TestDeadlines.seconds(5))
            #expect(heldAnswer?.hasPrefix("HTTP/1.1 200") == true, "\(heldAnswer ?? "no answer")")
            // One line for the flood, not one per connection.
            let lines = logs.text.components(separatedBy: "refusing connections from a client at its bound").count - 1
            #expect(lines == 1, "\(logs.text)")
            #expect(logs.text.contains("address_at_bound"))
            // The operator counts them.
            let scrape = Self.scrape(metrics)
            #expect(scrape.value("allot_connections_refused_total", ["rule": "address_at_bound"]) == 40)
            #expect(scrape.value("allot_connections_open").map { $0 >= 5 } == true, "the 4 held and the other client's")
        }
    }

    @Test func atTheCapHealthzAndKeyedRequestsAreStillAnswered() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let metrics = PrometheusCollectorRegistry()
        try await withLiveServer(world, configure: {
            $0.metricsRegistry = metrics
            $0.connections.openMax = 6
            $0.connections.reserved = 2
            // Scaled: a loaded machine can take longer than half a second between accepting a
            // connection and reading the request the test sent at once.
            $0.connections.provisionalSeconds = TestDeadlines.seconds(0.5)
        }) { live in
            // Anonymous idle connections from several clients fill everything but the reserve.
            let held = try await Self.hold(2, from: "127.0.0.2", port: live.port) + Self.hold(2, from: "127.0.0.3", port: live.port)
            #expect(held.count == 4)
            // A load balancer's probe: answered, then the reserve connection is let go.
            let probe = try RawConnection(port: live.port, from: "127.0.0.4")
            probe.send(Self.healthz)
            let probeAnswer = await probe.answer(within: TestDeadlines.seconds(5))
            #expect(probeAnswer?.hasPrefix("HTTP/1.1 200") == true, "\(probeAnswer ?? "no answer")")
            #expect(probeAnswer?.lowercased().contains("connection: close") == true, "\(probeAnswer ?? "no answer")")
            #expect(await probe.closedByServer(within: TestDeadlines.seconds(5)), "a reserve connection is held after its one answer")
            // A request with a key: answered.
            let keyed = try RawConnection(port: live.port, from: "127.0.0.4")
            keyed.send("GET /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(world.adminKey)\r\n\r\n")
            let keyedAnswer = await keyed.answer(within: TestDeadlines.seconds(5))
            #expect(keyedAnswer?.hasPrefix("HTTP/1.1 200") == true, "\(keyedAnswer ?? "no answer")")
            #expect(await keyed.closedByServer(within: TestDeadlines.seconds(5)))
            // A wrong key gets its 401 and the slot back at once.
            let wrongKey = try RawConnection(port: live.port, from: "127.0.0.4")
            wrongKey.send("GET /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer allot_wrong\r\n\r\n")
            let wrongAnswer = await wrongKey.answer(within: TestDeadlines.seconds(5))
            #expect(wrongAnswer?.hasPrefix("HTTP/1.1 401") == true, "\(wrongAnswer ?? "no answer")")
            #expect(await wrongKey.closedByServer(within: TestDeadlines.seconds(5)))
            // An anonymous request is told the server is busy, not left waiting.
            let anonymous = try RawConnection(port: live.port, from: "127.0.0.5")
            anonymous.send("GET /openapi.yaml HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let busy = await anonymous.answer(within: TestDeadlines.seconds(5))
            #expect(busy?.hasPrefix("HTTP/1.1 503") == true, "\(busy ?? "no answer")")
            #expect(busy?.lowercased().contains("retry-after: 1") == true, "\(busy ?? "no answer")")
            #expect(busy?.contains(#""code":"unavailable""#) == true, "\(busy ?? "no answer")")
            #expect(await anonymous.closedByServer(within: TestDeadlines.seconds(5)))
            // A reserve connection that sends nothing is closed after the provisional bound.
            let silent = try RawConnection(port: live.port, from: "127.0.0.6")
            let started = Date()
            #expect(await silent.closedByServer(within: TestDeadlines.seconds(5)), "a silent reserve connection is kept")
            let silentFor = Date().timeIntervalSince(started)
            #expect(silentFor >= 0.4 && silentFor < TestDeadlines.seconds(4), "closed at the provisional bound: \(silentFor) s")
            let scrape = Self.scrape(metrics)
            #expect(scrape.value("allot_connections_refused_total", ["rule": "reserve_without_key"]) == 1)
            #expect(scrape.value("allot_connections_refused_total", ["rule": "reserve_silent"]) == 1)
            // The held connections are ordinary ones: they were not closed, and are served.
            held[0].send(Self.healthz)
            let heldAnswer = await held[0].answer(within: TestDeadlines.seconds(5))
            #expect(heldAnswer?.hasPrefix("HTTP/1.1 200") == true, "\(heldAnswer ?? "no answer")")
        }
    }

    @Test func aTrustedProxyIsExemptFromTheAddressBound() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let proxy = try #require(AddressBlock(parsing: "127.0.0.7/32"))
        try await withLiveServer(world, configure: {
            $0.connections.perAddressMax = 2
            $0.connections.reserved = 0
            $0.connections.trustedProxies = [proxy]
        }) { live in
            let proxied = try await Self.hold(5, from: "127.0.0.7", port: live.port)
            for connection in proxied {
                connection.send(Self.healthz)
                let answer = await connection.answer(within: TestDeadlines.seconds(5))
                #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
            }
            // Its neighbour is not trusted: the bound holds for it.
            let neighbours = try await Self.hold(2, from: "127.0.0.8", port: live.port)
            #expect(neighbours.count == 2)
            let third = try RawConnection(port: live.port, from: "127.0.0.8")
            #expect(await third.closedByServer(within: TestDeadlines.seconds(5)))
        }
    }

    @Test func behindATrustedProxyTheLogNamesTheForwardedClient() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let logs = LogCapture()
        let proxy = try #require(AddressBlock(parsing: "127.0.0.9"))
        try await withLiveServer(world, logger: logs.logger(), configure: { $0.connections.trustedProxies = [proxy] }) { live in
            // The client wrote 198.51.100.1 itself; the proxy appended what it saw.
            let forwarded = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n\r\n"
            for source in ["127.0.0.9", "127.0.0.10"] {
                let connection = try RawConnection(port: live.port, from: source)
                connection.send(forwarded)
                let answer = await connection.answer(within: TestDeadlines.seconds(5))
                #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while !logs.text.contains("\"client\": 127.0.0.10"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(logs.text.contains("\"client\": 203.0.113.7"), "\(logs.text)")
            // An untrusted peer's header is not believed.
            #expect(logs.text.contains("\"client\": 127.0.0.10"), "\(logs.text)")
            #expect(!logs.text.contains("198.51.100.1"), "\(logs.text)")
        }
    }

    @Test func theListenBacklogSettingReachesTheListeningSocket() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        #expect(applicationConfiguration(configuration).backlog == ServerLimits.listenBacklog)
        #expect(ServerLimits.listenBacklog > 256, "larger than Hummingbird's default")
        configuration.connections.listenBacklog = 77
        #expect(applicationConfiguration(configuration).backlog == 77)
        // And on the socket: `ss` shows a listening socket's backlog as its Send-Q. Where there
        // is no `ss` (not Linux, no iproute2) the configuration above is what can be checked.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ss") else { return }
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world, configure: { $0.connections.listenBacklog = 77 }) { live in
            let listing = await RawConnection.offPool { Self.socketStatistics(port: live.port) }
            let fields = listing?.split(whereSeparator: \.isWhitespace) ?? []
            // State, Recv-Q, Send-Q, local address, peer address.
            #expect(fields.count >= 4 && fields[2] == "77", "ss -ltn: \(listing ?? "ss not available")")
        }
    }

    static func scrape(_ metrics: PrometheusCollectorRegistry) -> MetricsTests.Scrape {
        var bytes: [UInt8] = []
        metrics.emit(into: &bytes)
        return MetricsTests.Scrape(String(decoding: bytes, as: UTF8.self))
    }

    /// The line `ss -ltn` prints for the listening socket on `port`, or nil.
    static func socketStatistics(port: Int) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
        process.arguments = ["-ltnH", "sport = :\(port)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }
}
