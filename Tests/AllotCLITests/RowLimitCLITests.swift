import Foundation
import Testing

/// `--limit N` and `--all` on every table that shows its first rows (`RowLimitOptions`): the
/// default is unchanged (10 rows), a cut table says how many rows it left out and how to see
/// them, and `--json` is never cut by it. `queue list` is in `QueueCLITests`, `sync` in
/// `SyncCLITests`, `events` in `EventsCLITests`.
@Suite(.timeLimit(.minutes(5))) struct RowLimitCLITests {
    @Test func assignShowsTenFailuresByDefaultAndLimitOrAllShowsOthers() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 28)
        // 15 licences for 28 devices: 13 no_license. A dry run, so each run decides the same.
        func dryRun(_ extra: String...) async throws -> CLIResult {
            try await workspace.run(arguments: ["assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--dry-run"] + extra)
        }
        let cut = try await dryRun()
        #expect(cut.status == 1, "\(cut)")
        #expect(cut.stdout.components(separatedBy: "no_license  ").count - 1 == 10, "\(cut)")
        #expect(cut.stdout.contains("… and 3 more failed; --all lists them, --json lists every item."), "\(cut)")
        let two = try await dryRun("--limit", "2")
        #expect(two.stdout.components(separatedBy: "no_license  ").count - 1 == 2, "\(two)")
        #expect(two.stdout.contains("… and 11 more failed;"), "\(two)")
        let all = try await dryRun("--all")
        #expect(all.stdout.components(separatedBy: "no_license  ").count - 1 == 13, "\(all)")
        #expect(!all.stdout.contains("more failed"), "\(all)")
        let json = try await dryRun("--limit", "2", "--json").json()
        #expect(json[array: "items"].count == 28, "--json is never cut by --limit")
        let both = try await dryRun("--limit", "2", "--all")
        #expect(both.status == 2 && both.stderr.contains("--limit and --all cannot go together"), "\(both)")
    }

    @Test func revokeTakesTheSameOptions() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let unknown = (1...12).map { "ZZZ000000\(String(format: "%02d", $0))" }
        let cut = try await workspace.run(arguments: ["revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--no-push", "--serial"] + unknown)
        #expect(cut.stdout.contains("… and 2 more failed; --all lists them, --json lists every item."), "\(cut)")
        let all = try await workspace.run(arguments: ["revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--no-push", "--all", "--serial"] + unknown)
        #expect(all.stdout.contains(unknown[11]) && !all.stdout.contains("more failed"), "\(all)")
    }

    @Test func devicesImportShowsTenRejectedLinesByDefaultAndLimitOrAllShowsOthers() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let roster = try workspace.write("bad.csv", "serial_number\n" + (1...12).map { "bad serial \($0)\n" }.joined())
        let cut = try await workspace.run("devices", "import", "--tenant", "springfield", roster)
        #expect(cut.status == 3, "\(cut)")
        #expect(cut.stdout.contains("… and 2 more; --all lists every one."), "\(cut)")
        let one = try await workspace.run("devices", "import", "--tenant", "springfield", roster, "--limit", "1")
        #expect(one.stdout.contains("… and 11 more; --all lists every one."), "\(one)")
        let all = try await workspace.run("devices", "import", "--tenant", "springfield", roster, "--all")
        #expect(all.stdout.contains("'bad serial 12'") && !all.stdout.contains("more;"), "\(all)")
        #expect(try await workspace.run("devices", "import", "--tenant", "springfield", roster, "--limit", "1", "--json").json()[array: "rejected"].count == 12)
    }

    @Test func anAppsHoldersListCountsTheDevicesItLeftOut() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices").status == 0)
        let one = try await workspace.json("apps", "--tenant", "springfield", "--app", Workspace.sharedApp, "--devices", "--limit", "1")
        #expect(one[array: "devices"].count == 1)
        #expect(one["more"] as? Bool == true)
        #expect(one[int: "devicesOmitted"] == 2)
        let every = try await workspace.json("apps", "--tenant", "springfield", "--app", Workspace.sharedApp, "--devices")
        #expect(every["more"] as? Bool == false && every[int: "devicesOmitted"] == 0)
        let text = try await workspace.run("apps", "--tenant", "springfield", "--app", Workspace.sharedApp, "--devices", "--limit", "1")
        #expect(text.stdout.contains("1 device holds 361309726:STDQ; 2 more do, raise --limit to see them."), "\(text)")
    }
}
