import Foundation
import Testing

/// `allot sim serve` and `--apple http://…`: the same story as with `sim:PATH`, over real HTTP.
@Suite struct SimServeCLITests {
    /// Starts `allot sim serve` on a free loopback port; returns the process and its base URL.
    func serve(_ workspace: Workspace) throws -> (Process, String) {
        let outPath = workspace.path("serve.out")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = ["sim", "serve", "--state", workspace.path("sim.json"), "--port", "0", "--json"]
        process.environment = workspace.environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Bounded wait for the line that names the bound port.
        for _ in 0..<300 {
            let text = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let url = object["baseUrl"] as? String {
                return (process, url)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "allot sim serve printed no base URL in 30 s"])
    }

    @Test func theStoryWorksTheSameAgainstTheServedSimulator() throws {
        let workspace = try Workspace()
        try workspace.simulator()
        let (server, baseURL) = try serve(workspace)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(baseURL.hasPrefix("http://127.0.0.1:"))
        #expect(baseURL.hasSuffix("/mdm/v2"))
        workspace.environment["ALLOT_APPLE"] = baseURL
        try workspace.tenantWithDevices(count: 12)
        for uId in ["1001", "1002"] {
            let added = try workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile(uId))
            #expect(added.status == 0, "\(added)")
            #expect(!added.stdout.contains(try String(contentsOfFile: workspace.tokenFile(uId), encoding: .utf8)))
        }
        let assigned = try workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(assigned.status == 0, "\(assigned)")
        #expect(try assigned.json()[object: "counts"][int: "assigned"] == 12)

        let apple = try workspace.json("sim", "assignments", "--state", workspace.path("sim.json"))
        #expect(apple[array: "assignments"].count == 12)
        let apps = try workspace.json("apps", "--tenant", "springfield")
        #expect(apps[array: "apps"].first { $0["adamId"] as? String == Workspace.sharedApp }?[int: "assigned"] == 12)
    }

    @Test func anUnreachableAppleIsOneClearSentence() throws {
        let workspace = try Workspace()
        try workspace.simulator()
        workspace.environment["ALLOT_APPLE"] = "http://127.0.0.1:9/mdm/v2"
        try workspace.tenantWithDevices(count: 1)
        let added = try workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(added.status == 1, "\(added)")
        added.expectOneSentence()
        #expect(!added.stderr.contains(try String(contentsOfFile: workspace.tokenFile("1001"), encoding: .utf8)))
    }
}
