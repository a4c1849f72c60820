import Foundation
import FoundationNetworking
import TestDeadlines
import Testing

/// `allot sim serve` and `--apple http://…`: the same story as with `sim:PATH`, over real HTTP.
@Suite(.timeLimit(.minutes(5))) struct SimServeCLITests {
    /// Starts `allot sim serve` on a free loopback port; returns the process and its base URL.
    /// `stderr`: a file for its log (nothing kept by default).
    func serve(_ workspace: Workspace, stderr: String? = nil, options: [String] = []) async throws -> (Process, String) {
        let outPath = workspace.path("serve.out")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = ["sim", "serve", "--state", workspace.path("sim.json"), "--port", "0", "--json"] + options
        process.environment = workspace.environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        if let stderr {
            FileManager.default.createFile(atPath: stderr, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.runOneAtATime()
        // Bounded wait for the line that names the bound port.
        for _ in 0..<300 {
            let text = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let url = object["baseUrl"] as? String {
                return (process, url)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        await process.endedOrKilled()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "allot sim serve printed no base URL in 30 s"])
    }

    @Test func theStoryWorksTheSameAgainstTheServedSimulator() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        let (server, baseURL) = try await serve(workspace)
        defer {
            server.stopInTheBackground()
        }
        #expect(baseURL.hasPrefix("http://127.0.0.1:"))
        #expect(baseURL.hasSuffix("/mdm/v2"))
        workspace.environment["ALLOT_APPLE"] = baseURL
        try await workspace.tenantWithDevices(count: 12)
        for uId in ["1001", "1002"] {
            let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile(uId))
            #expect(added.status == 0, "\(added)")
            #expect(!added.stdout.contains(try String(contentsOfFile: workspace.tokenFile(uId), encoding: .utf8)))
        }
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(assigned.status == 0, "\(assigned)")
        #expect(try assigned.json()[object: "counts"][int: "assigned"] == 12)

        let apple = try await workspace.json("sim", "assignments", "--state", workspace.path("sim.json"))
        #expect(apple[array: "assignments"].count == 12)
        let apps = try await workspace.json("apps", "--tenant", "springfield")
        #expect(apps[array: "apps"].first { $0["adamId"] as? String == Workspace.sharedApp }?[int: "assigned"] == 12)
    }

    /// Statuses of `calls` calls of `client/config` one after another with location 1001's
    /// token, and how many one-second windows they spanned.
    func burst(_ baseURL: String, token: String, calls: Int) async throws -> (statuses: [Int], windows: Int) {
        let session = URLSession(configuration: .ephemeral)
        var statuses: [Int] = []
        var windows = Set<Int>()
        for _ in 0..<calls {
            var request = URLRequest(url: URL(string: baseURL + "/client/config")!)
            request.timeoutInterval = 30
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            windows.insert(Int(Date().timeIntervalSince1970))
            let (_, response) = try await session.data(for: request)
            statuses.append((response as? HTTPURLResponse)?.statusCode ?? 0)
        }
        windows.insert(Int(Date().timeIntervalSince1970))
        return (statuses, windows.count)
    }

    /// Apple's 15 requests a second per token, as the simulator enforces by default.
    static let maxRequestPerSecond = 15

    @Test(.timeLimit(.minutes(5)))
    func theServedSimulatorEnforcesApplesRateUnlessToldNotTo() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        let token = try String(contentsOfFile: workspace.tokenFile("1001"), encoding: .utf8)
        let calls = 3 * Self.maxRequestPerSecond
        do {
            let (server, baseURL) = try await serve(workspace)
            defer {
                server.stopInTheBackground()
            }
            let (statuses, windows) = try await burst(baseURL, token: token, calls: calls)
            #expect(Set(statuses).isSubset(of: [200, 429]), "\(statuses)")
            // However slow the machine: at most the limit pass in each one-second window touched.
            #expect(statuses.count { $0 == 200 } <= windows * Self.maxRequestPerSecond, "\(statuses)")
            if windows <= 2 { #expect(statuses.contains(429), "\(calls) calls in \(windows) windows were all answered") }
        }
        let (server, baseURL) = try await serve(workspace, options: ["--no-enforce-request-rate"])
        defer {
            server.stopInTheBackground()
        }
        let (statuses, _) = try await burst(baseURL, token: token, calls: calls)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
    }

    @Test func anUnreachableAppleIsOneClearSentence() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        workspace.environment["ALLOT_APPLE"] = "http://127.0.0.1:9/mdm/v2"
        try await workspace.tenantWithDevices(count: 1)
        let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(added.status == 1, "\(added)")
        added.expectOneSentence()
        #expect(!added.stderr.contains(try String(contentsOfFile: workspace.tokenFile("1001"), encoding: .utf8)))
    }
}
