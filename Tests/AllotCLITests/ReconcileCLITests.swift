import Foundation
import TestDeadlines
import Testing

/// `allot serve --sync-interval` notices on its own what changed at Apple, `allot sync --all`
/// does it by hand for cron, and bad values are refused in one sentence (issue 12, point 1).
@Suite(.timeLimit(.minutes(5))) struct ReconcileCLITests {
    @Test func aRunningServerNoticesAClaimAndARefundWithinOneIntervalWithoutAnyRequest() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 12)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        #expect(assigned.status == 0, "\(assigned)")

        let errPath = workspace.path("serve.err")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = ["serve", "--port", "0", "--sync-interval", "1s", "--drain-seconds", "1"]
        var environment = workspace.environment
        environment["ALLOT_ADMIN_KEY"] = "test-admin-key-0123456789"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.runOneAtATime()
        defer {
            process.stopInTheBackground()
        }

        // Behind the server's back, through Apple only: Apple Configurator takes North, and a
        // refund leaves Main with 5 of the 10 licences it lent.
        #expect(try await workspace.run("sim", "claim", "--state", workspace.path("sim.json"), "--location", "1002", "--name", "Apple Configurator 2").status == 0)
        #expect(try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1001",
                                  "--app", Workspace.sharedApp, "--total", "5").status == 0)
        var kinds: [String] = []
        let deadline = TestDeadlines.date(after: 30)
        while Date() < deadline {
            kinds = try await workspace.json("events", "--tenant", "springfield", "--limit", "500")[array: "events"].compactMap { $0["kind"] as? String }
            if kinds.contains("token_claimed") && kinds.contains("over_allocated") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(kinds.contains("token_claimed"), "events: \(kinds)")
        #expect(kinds.contains("over_allocated"), "events: \(kinds)")
        let north = try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].first { $0["locationUid"] as? String == "1002" }
        #expect(north?["state"] as? String == "claimed_elsewhere")
        #expect(north?["ownerName"] as? String == "Apple Configurator 2")
    }

    @Test func syncAllReadsEveryTenantAndExitsAsSyncDoes() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        #expect(try await workspace.run("tenant", "create", "shelbyville").status == 0)
        let all = try await workspace.run("sync", "--all", "--json")
        // Shelbyville has no token: it needs attention, so the whole run exits 4, naming it.
        #expect(all.status == 4, "\(all)")
        let answer = try all.json()
        let tenants = answer[array: "tenants"]
        #expect(tenants.compactMap { $0["tenant"] as? String } == ["shelbyville", "springfield"])
        #expect(tenants.first { $0["tenant"] as? String == "springfield" }?[array: "tokens"].count == 2)
        #expect((answer["attention"] as? [String])?.contains { $0.hasPrefix("tenant shelbyville:") } == true)
        #expect((answer["attention"] as? [String])?.contains { $0.hasPrefix("tenant springfield:") } == false)

        let text = try await workspace.run("sync", "--all")
        #expect(text.status == 4)
        #expect(text.stdout.contains("Tenant springfield:"))
        #expect(text.stdout.contains("Synced 2 tenants, 2 tokens."))
    }

    @Test func aTenantChoosesWhenLicencesLowFires() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 14)
        #expect(try await workspace.json("tenant", "licences-low", "springfield")["licencesLow"] as? String == "20,10")
        let set = try await workspace.run("tenant", "licences-low", "springfield", "50")
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("below 50% of its total"))
        // 15 licences of the shared app: 7 left is below half.
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push").status == 0)
        let low = try await workspace.json("events", "--tenant", "springfield", "--kind", "licences_low")[array: "events"]
        #expect(low.count == 1)
        #expect((low.first?["detail"] as? [String: Any])?["belowPercent"] as? Int == 50)
        let bad = try await workspace.run("tenant", "licences-low", "springfield", "120")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("1 to 99"))
        #expect(try await workspace.json("tenant", "licences-low", "springfield")["licencesLow"] as? String == "50")
    }

    @Test func badScheduleOptionsAreRefusedInOneSentence() async throws {
        let workspace = try Workspace()
        for (arguments, fragment) in [(["serve", "--sync-interval", "10"], "--sync-interval"),
                                      (["serve", "--sync-interval", "0s"], "45s, 10m, 1h"),
                                      (["serve", "--public-url", "ftp://example.com"], "--public-url"),
                                      (["serve", "--lease-seconds", "5"], "--lease-seconds must be 35 to 3600"),
                                      (["serve", "--db-connections", "0"], "--db-connections must be 1 to 32"),
                                      (["serve", "--db-connections", "4"], "needs a PostgreSQL ledger"),
                                      (["sync"], "--all"),
                                      (["sync", "--all", "--tenant", "springfield"], "cannot go together"),
                                      (["sync", "--all", "--token", "1"], "--token")] {
            let result = try await workspace.run(arguments: arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite")), "a refused serve creates no database")
    }
}
