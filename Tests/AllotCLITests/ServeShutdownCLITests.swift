import Foundation
import TestDeadlines
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `allot serve` stops within its bound on SIGTERM whatever Apple does (issue 11, point 3), and
/// what it did not deliver is still in the outbox.
@Suite(.timeLimit(.minutes(5))) struct ServeShutdownCLITests {
    static let drainSeconds = 1.0
    /// The drain bound and the second to release leases, plus room for a loaded machine.
    static let exitSecondsMax = 8.0

    /// A loopback port where Apple "hangs": the kernel accepts connections into the backlog and
    /// nobody ever answers. Returns the socket (close it after) and its port.
    static func hangingApple() throws -> (Int32, Int) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(socket >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(socket, $0, length) == 0 && listen(socket, 64) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        #expect(bound)
        return (socket, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A loopback port where Apple is gone: nothing listens (connections are refused).
    static func goneApple() throws -> Int {
        let (socket, port) = try hangingApple()
        close(socket)
        return port
    }

    /// Starts `allot serve` against `apple`, waits until the worker has had time to call Apple,
    /// sends SIGTERM and returns the exit status and the seconds it took to exit.
    func serveThenTerminate(_ workspace: Workspace, apple: String) async throws -> (Int32, Double) {
        let errPath = workspace.path("serve.err")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = ["serve", "--port", "0", "--drain-seconds", String(Self.drainSeconds), "--apple", apple]
        var environment = workspace.environment
        environment["ALLOT_ADMIN_KEY"] = "test-admin-key-0123456789"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.runOneAtATime()
        var serving = false
        for _ in 0..<300 where !serving {
            serving = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self).contains("serving the HTTP API")
            if !serving { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(serving, "allot serve never said it was serving")
        // The worker's first push is under way: its Apple call is in flight (or refused).
        try await Task.sleep(for: .milliseconds(1000))
        let start = Date()
        process.terminate()
        let deadline = TestDeadlines.date(after: 30)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let seconds = Date().timeIntervalSince(start)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.endedOrKilled()
        return (process.terminationStatus, seconds)
    }

    func workspaceWithWork() async throws -> Workspace {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push")
        #expect(assigned.status == 0, "\(assigned)")
        return workspace
    }

    /// After the stop, the outbox still holds the work: a push to the simulator delivers it.
    func expectDeliveredAfterwards(_ workspace: Workspace) async throws {
        // Bounded: an operation refused while Apple was gone waits out its backoff (2 s).
        var held = 0
        for _ in 0..<10 where held < 4 {
            let pushed = try await workspace.run("push", "--tenant", "springfield")
            #expect(pushed.status == 0, "\(pushed)")
            held = try await workspace.appleAssignments().count
            if held < 4 { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(held == 4)
    }

    @Test func serveStopsWithinItsBoundWhileAppleHangs() async throws {
        let workspace = try await workspaceWithWork()
        let (socket, port) = try Self.hangingApple()
        defer { close(socket) }
        let (status, seconds) = try await serveThenTerminate(workspace, apple: "http://127.0.0.1:\(port)/mdm/v2")
        #expect(status == 0)
        #expect(seconds < Self.exitSecondsMax, "took \(seconds) s to stop")
        try await expectDeliveredAfterwards(workspace)
    }

    @Test func serveStopsWithinItsBoundWhenAppleIsGone() async throws {
        let workspace = try await workspaceWithWork()
        let (status, seconds) = try await serveThenTerminate(workspace, apple: "http://127.0.0.1:\(try Self.goneApple())/mdm/v2")
        #expect(status == 0)
        #expect(seconds < Self.exitSecondsMax, "took \(seconds) s to stop")
        try await expectDeliveredAfterwards(workspace)
    }
}
