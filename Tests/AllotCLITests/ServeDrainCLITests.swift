import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestDeadlines
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// On SIGTERM `allot serve` stops accepting, starts no Apple call, and waits for the Apple calls
/// and HTTP requests in flight up to `--drain-seconds` (their answers recorded and delivered)
/// before it gives back the leases of what did not finish and exits 0. Apple is the served
/// simulator on loopback, slowed by its latency option: it acts on a call at once and answers
/// after the delay, as a distant Apple does.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeDrainCLITests {
    static let adminKey = "test-admin-key-0123456789"
    static let sqlite3 = "/usr/bin/sqlite3"
    /// Bounded: the worker's first call to Apple.
    static let firstCallSecondsMax = 60.0
    /// Room for a loaded machine on top of every bound below.
    static let slackSeconds = 3.0

    /// A simulator with the two locations, a tenant with `devices` devices and both tokens;
    /// returns the tenant's API key. Set up through `sim:PATH`, before Apple is slowed.
    func world(_ workspace: Workspace, devices: Int) async throws -> String {
        try await workspace.simulator()
        let created = try await workspace.run("tenant", "create", "springfield", "--json")
        #expect(created.status == 0, "\(created)")
        let key = try #require(try created.json()["apiKey"] as? String)
        var csv = "serial_number\n"
        for index in 1...devices { csv += Workspace.serial(index) + "\n" }
        #expect(try await workspace.run("devices", "import", "--tenant", "springfield", workspace.write("roster.csv", csv)).status == 0)
        for uId in ["1001", "1002"] {
            let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile(uId))
            #expect(added.status == 0, "\(added)")
        }
        return key
    }

    /// The served simulator, answering every call after `latencyMs`; it and its base URL.
    func slowApple(_ workspace: Workspace, latencyMs: Int) async throws -> (Process, String) {
        try await SimServeCLITests().serve(workspace, options: ["--latency-ms", String(latencyMs)])
    }

    /// Starts `allot serve` against `apple`; returns it and its base URL.
    func serve(_ workspace: Workspace, apple: String, drainSeconds: Double) async throws -> (Process, String) {
        let node = try await ServedAllot.start(workspace, arguments: ["--drain-seconds", String(drainSeconds), "--apple", apple],
                                         environment: ["ALLOT_ADMIN_KEY": Self.adminKey])
        return (node.process, node.base)
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns the status and the seconds taken.
    static func terminate(_ process: Process) async -> (Int32, Double) {
        let start = Date()
        process.terminate()
        let deadline = start.addingTimeInterval(60)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let seconds = Date().timeIntervalSince(start)
        await process.endedOrKilled(within: 0)
        return (process.terminationStatus, seconds)
    }

    /// Kills a child still running and waits for it: no test leaves a process behind.
    static func reap(_ process: Process) {
        process.stopInTheBackground(graceSeconds: 0)
    }

    /// Associate requests Apple has acted on, read from the simulator's state.
    static func associationsAppleReceived(_ workspace: Workspace) async throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sqlite3)
        process.arguments = ["-readonly", workspace.path("sim.json"), "SELECT count(*) FROM events WHERE type = 'ASSOCIATE'"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.runOneAtATime()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        await process.endedOrKilled()
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Waits (bounded) until Apple has acted on an associate whose answer is still on its way.
    static func waitForAssociateInFlight(_ workspace: Workspace) async throws {
        let deadline = TestDeadlines.date(after: firstCallSecondsMax)
        while try await associationsAppleReceived(workspace) < 1 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await associationsAppleReceived(workspace) == 1, "the worker never called Apple")
    }

    /// The world with four devices' licences committed and waiting in the outbox for Apple.
    func worldWithWork() async throws -> Workspace {
        let workspace = try Workspace()
        _ = try await world(workspace, devices: 4)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push")
        #expect(assigned.status == 0, "\(assigned)")
        return workspace
    }

    @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func anAppleCallInFlightIsWaitedForAndNotSentAgain() async throws {
        let workspace = try await worldWithWork()
        let latencySeconds = 3.0
        let (apple, baseURL) = try await slowApple(workspace, latencyMs: Int(latencySeconds * 1000))
        defer { Self.reap(apple) }
        let (node, _) = try await serve(workspace, apple: baseURL, drainSeconds: 10)
        defer { Self.reap(node) }

        try await Self.waitForAssociateInFlight(workspace)
        let (status, seconds) = await Self.terminate(node)
        #expect(status == 0)
        // It waited for Apple's answer (not cut it short), and no longer than the call.
        #expect(seconds > 0.5, "stopped after \(seconds) s, before Apple could answer")
        #expect(seconds < latencySeconds + Self.slackSeconds, "took \(seconds) s to stop")

        // The answer was recorded: later pushes ask how the event went; they send nothing again.
        var sentAgain = 0
        var held = 0
        for _ in 0..<5 where held < 4 {
            let pushed = try await workspace.run("push", "--tenant", "springfield", "--json", "--apple", baseURL)
            #expect(pushed.status == 0, "\(pushed)")
            sentAgain += try pushed.json()[int: "sent"] ?? 0
            held = try await workspace.appleAssignments().count
        }
        #expect(sentAgain == 0)
        #expect(try await Self.associationsAppleReceived(workspace) == 1)
        #expect(held == 4)
    }

    @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func anAppleSlowerThanTheBoundDoesNotHoldTheStop() async throws {
        let workspace = try await worldWithWork()
        let drainSeconds = 1.0
        let (apple, baseURL) = try await slowApple(workspace, latencyMs: 8_000)
        defer { Self.reap(apple) }
        let (node, _) = try await serve(workspace, apple: baseURL, drainSeconds: drainSeconds)
        defer { Self.reap(node) }

        try await Self.waitForAssociateInFlight(workspace)
        let (status, seconds) = await Self.terminate(node)
        #expect(status == 0)
        #expect(seconds < drainSeconds + Self.slackSeconds, "took \(seconds) s to stop")
        // Its lease was given back: the next push sends it at once (Apple acts on it again,
        // which is harmless) and Apple holds every licence.
        var held = 0
        for _ in 0..<5 where held < 4 {
            let pushed = try await workspace.run("push", "--tenant", "springfield", "--apple", baseURL)
            #expect(pushed.status == 0, "\(pushed)")
            held = try await workspace.appleAssignments().count
        }
        #expect(held == 4)
    }

    @Test(.timeLimit(.minutes(5)))
    func anHTTPSyncInFlightIsAnsweredBeforeTheProcessExits() async throws {
        let workspace = try Workspace()
        let tenantKey = try await world(workspace, devices: 2)
        let latencySeconds = 3.0
        let (apple, baseURL) = try await slowApple(workspace, latencyMs: Int(latencySeconds * 1000))
        defer { Self.reap(apple) }
        let drainSeconds = 10.0
        let (node, base) = try await serve(workspace, apple: baseURL, drainSeconds: drainSeconds)
        defer { Self.reap(node) }

        // A sync reads each token from Apple, one slow call after another: far longer than the bound.
        var request = URLRequest(url: URL(string: base + "/v1/tenants/springfield/sync")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 60
        request.setValue("Bearer \(tenantKey)", forHTTPHeaderField: "Authorization")
        let session = URLSession(configuration: .ephemeral)
        let answer = Task { () -> (Int, Data)? in
            guard let (data, response) = try? await session.data(for: request) else { return nil }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }
        // The request is in flight: its first call to Apple has left.
        try await Task.sleep(for: .seconds(1))
        let (status, seconds) = await Self.terminate(node)
        // Bounded by the request's own timeout; a whole answer means it left before the exit.
        let answered = await answer.value
        #expect(status == 0)
        // It waited for the call in flight (one latency), then the sync answered without more calls.
        #expect(seconds < latencySeconds + Self.slackSeconds, "took \(seconds) s to stop")
        let (code, body) = try #require(answered, "the client got no answer")
        #expect(code == 200, "\(String(decoding: body, as: UTF8.self))")
        let tokens = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?[array: "tokens"] ?? []
        #expect(tokens.count == 2)
        #expect(tokens.contains { ($0["error"] as? String)?.contains("stopping") == true })
    }
}
