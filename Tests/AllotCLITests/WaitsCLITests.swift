import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestDeadlines
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every wait a person sees has a count or a bound: the simulator's notifications to a
/// receiver that has gone fail fast and say so; the push after a batch counts its requests
/// and estimates the time left on a terminal, with `--json` untouched.
@Suite(.timeLimit(.minutes(5))) struct WaitsCLITests {
    /// Bounded waits of this suite.
    static let serveStartSecondsMax = 60.0
    static let receiverSecondsMax = 60.0

    /// A loopback port nothing listens on now (bound, read back, closed).
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "no free loopback port"]) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test(.timeLimit(.minutes(5)))
    func setTotalSaysANotificationReceiverThatHasGoneWasNotReachedWithinABound() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        // `allot serve --public-url` gives the tokens' locations a receiver, then stops.
        let port = try Self.freePort()
        let errPath = workspace.path("serve.err")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: AllotBinary.path)
        serve.arguments = ["serve", "--port", String(port), "--public-url", "http://127.0.0.1:\(port)", "--drain-seconds", "1"]
        var environment = workspace.environment
        environment["ALLOT_ADMIN_KEY"] = "test-admin-key-0123456789"
        serve.environment = environment
        serve.standardInput = FileHandle.nullDevice
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try serve.runOneAtATime()
        defer {
            serve.stopInTheBackground()
        }
        // Apple's TEST_NOTIFICATION to each token's receiver is what configuring it answers.
        var configured = 0
        let deadline = TestDeadlines.date(after: Self.receiverSecondsMax)
        var serveLog = ""
        while Date() < deadline && serve.isRunning && configured < 2 {
            try await Task.sleep(for: .milliseconds(200))
            serveLog = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
            configured = serveLog.components(separatedBy: "route=/apple/notifications/{token} status=200").count - 1
        }
        try #require(configured >= 2, "the receivers were never configured: \(serveLog)")
        serve.terminate()
        await serve.endedOrKilled()

        let set = try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1001",
                                    "--app", Workspace.sharedApp, "--total", "12")
        let seconds = set.seconds
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("now owns 12 licences"), "\(set)")
        #expect(set.stderr.contains("The notification to http://127.0.0.1:\(port)/apple/notifications/"), "\(set)")
        #expect(set.stderr.contains("was not delivered: connection refused (3 tries)"), "\(set)")
        // Three tries 0.5 s and 1.5 s apart, each refused at once: about 2 s, never the old 10
        // (timed from the child's start, not its wait for a slot; the bound scales with load).
        #expect(seconds < TestDeadlines.seconds(8), "set-total took \(seconds) s")

        // The served simulator, which has no command ending to say it at, logs each one it drops.
        let (simulator, baseURL) = try await SimServeCLITests().serve(workspace, stderr: workspace.path("sim-serve.err"))
        defer {
            simulator.stopInTheBackground()
        }
        var request = URLRequest(url: URL(string: baseURL.replacingOccurrences(of: "/mdm/v2", with: "/_sim/set-total"))!)
        request.httpMethod = "POST"
        request.timeoutInterval = 30
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"location": "1001", "adamId": "\#(Workspace.sharedApp)", "pricingParam": "STDQ", "total": 13}"#.utf8)
        let (_, response) = try await URLSession(configuration: .ephemeral).data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        var logged = ""
        let logDeadline = TestDeadlines.date(after: NotificationBound.secondsMax + 10)
        while Date() < logDeadline && !logged.contains("was not delivered") {
            try await Task.sleep(for: .milliseconds(200))
            logged = String(decoding: FileManager.default.contents(atPath: workspace.path("sim-serve.err")) ?? Data(), as: UTF8.self)
        }
        #expect(logged.contains("a notification was not delivered after 3 tries: connection refused"), "\(logged)")
        #expect(logged.contains("url=http://127.0.0.1:\(port)/apple/notifications/"), "\(logged)")
    }

    /// The simulator's bound on the tries of one notification (three of 2 s, 0.5 s and 1.5 s apart).
    enum NotificationBound { static let secondsMax = 8.0 }

    @Test(.timeLimit(.minutes(5)))
    func thePushAfterABatchCountsItsRequestsAndTheTimeLeftOnATerminalOnly() async throws {
        let workspace = try Workspace()
        // Apple allows one request a second here, so six requests take long enough to be drawn.
        // The rate is paced by the engine; the test is about the line, so the simulator is told
        // not to enforce it (a late wake-up would otherwise risk a 9646 and a retry).
        try #require(Workspace.seed.hasSuffix("]}"))
        let seed = String(Workspace.seed.dropLast()) + #", "settings": {"maxRequestPerSecond": 1, "enforceRequestRate": false}}"#
        try await workspace.simulator(seed: seed)
        try await workspace.tenantWithDevices(count: 6)
        #expect(try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001")).status == 0)

        let terminal = try PseudoTerminal()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        // One chunk a device: six batches, so six requests to Apple, paced one a second.
        process.arguments = ["assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--chunk-size", "1", "--json"]
        process.environment = workspace.environment
        process.currentDirectoryURL = workspace.folder
        process.standardInput = FileHandle.nullDevice
        let outPath = workspace.path("assign.out")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = terminal.childEnd
        try process.runOneAtATime()
        await process.endedOrKilled()
        let drawn = terminal.text()
        let stdout = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stdout)\n\(drawn)")
        let lines = drawn.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map(String.init)
        let counted = lines.filter { $0.range(of: #"telling Apple: [0-9]+ of 6 requests sent, "#, options: .regularExpression) != nil }
        #expect(!counted.isEmpty, "no counted push line: \(drawn.debugDescription)")
        #expect(counted.contains { $0.range(of: #"about [0-9]+(s|m [0-9]+s) left"#, options: .regularExpression) != nil },
                "no time left: \(counted)")
        // stdout is the one JSON object, whatever was drawn on the terminal.
        let answer = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        #expect((answer?["counts"] as? [String: Any])?["assigned"] as? Int == 6, "\(stdout)")
        #expect(!stdout.contains("telling Apple"))
    }
}
