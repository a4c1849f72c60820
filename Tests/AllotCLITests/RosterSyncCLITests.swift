import Foundation
import Testing

/// `devices import --retire-missing`: the roster is the fleet, and a truncated one is refused.
@Suite(.timeLimit(.minutes(5))) struct RosterSyncCLITests {
    func roster(_ workspace: Workspace, _ indexes: some Sequence<Int>) throws -> String {
        try workspace.write("sync.csv", "serial_number,name\n" + indexes.map { "\(Workspace.serial($0)),Device \($0)\n" }.joined())
    }

    @Test func devicesAbsentFromTheFileAreRetiredWithTheirLicencesBack() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 20)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let file = try roster(workspace, 1...18)

        let dry = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--retire-missing", "--dry-run", "--json")
        #expect(dry.status == 0, "\(dry)")
        #expect(try dry.json()[object: "retireMissing"]["retired"] as? [String] == [Workspace.serial(19), Workspace.serial(20)])
        #expect(try dry.json()[object: "retireMissing"]["dryRun"] as? Bool == true)
        #expect(try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].allSatisfy { $0["retired"] as? Bool == false })

        let synced = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--retire-missing")
        #expect(synced.status == 0, "\(synced)")
        #expect(synced.stdout.contains("retired 2 devices absent from the file"), "\(synced)")
        let retired = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].filter { $0["retired"] as? Bool == true }
        #expect(retired.map { $0["serialNumber"] as? String } == [Workspace.serial(19), Workspace.serial(20)])
    }

    @Test func aTruncatedExportIsRefusedWithHowManyWouldGoAndHowToAllowIt() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 20)
        let file = try roster(workspace, 1...5)
        let refused = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--retire-missing")
        #expect(refused.status == 1, "\(refused)")
        refused.expectOneSentence(containing: "15 of the tenant's 20 managed devices (75%)")
        #expect(refused.stderr.contains("--max-retire 15"))
        #expect(try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].allSatisfy { $0["retired"] as? Bool == false })

        let allowed = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--retire-missing", "--max-retire", "75%", "--json")
        #expect(allowed.status == 0, "\(allowed)")
        #expect((try allowed.json()[object: "retireMissing"]["retired"] as? [String])?.count == 15)
        let bad = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--max-retire", "5")
        #expect(bad.status == 2, "--max-retire needs --retire-missing: \(bad)")
    }
}

/// `token resolve`: Apple's total fell below what a token holds; the excess is given back.
@Suite(.timeLimit(.minutes(5))) struct ResolveCLITests {
    @Test func theExcessMovesToATokenWithFreeLicencesOrIsRevoked() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 15)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(assigned.status == 0, "\(assigned)")
        // Two licences of token 1 come back, so token 1 has two free.
        let onFirst = try assigned.json()[array: "items"].filter { $0[int: "tokenId"] == 1 }.compactMap { $0["serialNumber"] as? String }
        try await workspace.run(arguments: ["revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial"] + onFirst.prefix(2))
        // North Campus (token 2) is refunded down to 2 of its 5.
        let set = try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1002", "--app", Workspace.sharedApp, "--total", "2")
        #expect(set.status == 0, "\(set)")
        let sync = try await workspace.run("sync", "--tenant", "springfield")
        #expect(sync.status == 4, "over-allocated: \(sync)")
        #expect(sync.stdout.contains("allot token resolve --tenant springfield 2"), "\(sync)")
        let apps = try await workspace.run("apps", "--tenant", "springfield")
        #expect(apps.stdout.contains("allot token resolve --tenant springfield 2"), "\(apps)")
        #expect(!apps.stdout.contains("run `allot sync`"))
        let takeover = try await workspace.run("token", "takeover", "--tenant", "springfield", "1002", "--clean-up")
        #expect(takeover.stdout.contains("nothing to clean up"), "\(takeover)")
        #expect(takeover.stdout.contains("5 licences in use against Apple's total of 2; `allot token resolve --tenant springfield 2`"), "\(takeover)")

        let mistyped = try await workspace.run("token", "resolve", "--tenant", "springfield", "2", "--keep-group", "labb")
        #expect(mistyped.status == 1, "\(mistyped)")
        mistyped.expectOneSentence(containing: "'labb' has no managed devices")
        let dry = try await workspace.json("token", "resolve", "--tenant", "springfield", "2", "--dry-run")
        #expect(dry[array: "moved"].count == 2)
        #expect(dry[int: "revoked"] == 1)
        let resolved = try await workspace.run("token", "resolve", "--tenant", "springfield", "2", "--json")
        #expect(resolved.status == 0, "\(resolved)")
        let answer = try resolved.json()
        #expect(answer[array: "moved"].allSatisfy { $0[int: "toTokenId"] == 1 })
        #expect((answer["devices"] as? [String])?.count == 1, "one device needs an uninstall")
        #expect(try await workspace.appleAssignments(location: "1002").count == 2)
        #expect(try await workspace.appleAssignments(location: "1001").count == 10)
        let after = try await workspace.run("sync", "--tenant", "springfield")
        #expect(after.status == 0, "resolved: \(after)")
        let nothing = try await workspace.run("token", "resolve", "--tenant", "springfield", "2")
        #expect(nothing.stdout.contains("Nothing to resolve"), "\(nothing)")
    }
}
