import AllotServer
import Foundation
import TestDeadlines
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 10.3: idle connections and connections with unfinished headers are closed after the
/// idle timeout, and the number open at once is bounded, over real loopback sockets.
@Suite(.timeLimit(.minutes(5))) struct ConnectionLimitsTests {
    /// A plain TCP connection to the server, for what an HTTP client would never do.
    /// Blocking socket calls run on a thread of their own, never on the cooperative pool (two
    /// threads on this machine), where they would stall every server of the test run.
    final class RawConnection: @unchecked Sendable {
        let descriptor: Int32

        /// `source` is the client's own address, any of 127.0.0.0/8 (all loopback on Linux):
        /// another address is another client to the server.
        init(port: Int, from source: String? = nil) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestFailure("socket() failed: \(errno)") }
            if let source {
                var local = sockaddr_in()
                local.sin_family = sa_family_t(AF_INET)
                local.sin_addr.s_addr = inet_addr(source)
                let bound = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                // No close here: `self` is whole, so its deinit closes the socket.
                guard bound == 0 else { throw TestFailure("bind(\(source)) failed: \(errno)") }
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw TestFailure("connect() failed: \(errno)") }
        }

        deinit { close(descriptor) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        func closedByServer(within seconds: Double) async -> Bool {
            await Self.offPool { self.waitForClose(within: seconds) }
        }

        func answer(within seconds: Double) async -> String? {
            await Self.offPool { self.waitForAnswer(within: seconds) }
        }

        static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: work()) }
            }
        }

        /// Reads until the server closes the connection (true) or `seconds` pass (false).
        /// Bytes the server sends before closing (an answer) are read and dropped.
        private func waitForClose(within seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
                guard ready > 0 else { continue }
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return true }
            }
            return false
        }

        /// The first bytes of an answer within `seconds`, or nil.
        private func waitForAnswer(within seconds: Double) -> String? {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }
    }

    @Test func idleAndHalfSentConnectionsAreClosedAndTheServerStillAnswers() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world, configure: { $0.idleConnectionSeconds = 0.5 }) { live in
            let idle = try RawConnection(port: live.port)
            let halfSent = try RawConnection(port: live.port)
            halfSent.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            let started = Date()
            #expect((try await live.get("/healthz", key: nil)).status == 200)
            #expect(await idle.closedByServer(within: TestDeadlines.seconds(10)), "an idle connection stays open")
            #expect(await halfSent.closedByServer(within: TestDeadlines.seconds(10)), "a connection with unfinished headers stays open")
            // Closed by the timeout, not at once: the server waited for the headers.
            #expect(Date().timeIntervalSince(started) >= 0.4)
            // On a new connection: the client's pooled one has idled past the timeout too, and
            // a request racing the server's close of it fails with "I/O on closed channel".
            let fresh = try RawConnection(port: live.port)
            fresh.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let answer = await fresh.answer(within: TestDeadlines.seconds(10))
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
        }
    }

    @Test func connectionsPastTheBoundWaitUntilOthersClose() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world, configure: { $0.idleConnectionSeconds = 1.5; $0.openConnectionsMax = 3; $0.connections.reserved = 0 }) { live in
            let held = try (0..<3).map { _ in try RawConnection(port: live.port) }
            // Give the server the moment it takes to accept them.
            try await Task.sleep(for: .milliseconds(200))
            let extra = try RawConnection(port: live.port)
            extra.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(await extra.answer(within: 0.4) == nil, "a connection past the bound was served at once")
            // The held ones are idle: the timeout closes them, and the waiting one is served.
            let answer = await extra.answer(within: TestDeadlines.seconds(10))
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
            for connection in held { #expect(await connection.closedByServer(within: TestDeadlines.seconds(5))) }
        }
    }
}
