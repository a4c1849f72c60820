import Foundation
import Testing

/// `allot sync`: drift between Apple and the ledger, in text and JSON, and `--repair`.
@Suite(.timeLimit(.minutes(5))) struct SyncCLITests {
    @Test func aLedgerRestoredFromBackupShowsAppleAsDriftAndRepairRecordsIt() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        #expect(try await workspace.json("sync", "--tenant", "springfield")[array: "tokens"].allSatisfy { ($0["drift"] as? [Any])?.isEmpty == true })

        // A backup taken now, then two licences granted (and delivered), then the backup restored.
        let files = try FileManager.default.contentsOfDirectory(atPath: workspace.folder.path).filter { $0.hasPrefix("allot.sqlite") }
        for file in files { try FileManager.default.copyItem(atPath: workspace.path(file), toPath: workspace.path("backup-" + file)) }
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp,
                                         "--serial", Workspace.serial(1), "--serial", Workspace.serial(2))
        #expect(assigned.status == 0, "\(assigned)")
        for file in try FileManager.default.contentsOfDirectory(atPath: workspace.folder.path) where file.hasPrefix("allot.sqlite") {
            try FileManager.default.removeItem(atPath: workspace.path(file))
        }
        for file in files { try FileManager.default.copyItem(atPath: workspace.path("backup-" + file), toPath: workspace.path(file)) }

        // Drift is an attention item: a cron job's exit code says Apple and the ledger disagree.
        let drifting = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(drifting.status == 4, "\(drifting)")
        let answer = try drifting.json()
        #expect(answer["needsAttention"] as? Bool == true)
        #expect((answer["attention"] as? [String] ?? []).contains { $0.contains("disagree on 2 licences") && $0.contains("allot sync --repair") })
        let found = answer[array: "tokens"]
        let drift = found.flatMap { $0[array: "drift"] }
        #expect(drift.count == 2)
        #expect(drift.allSatisfy { $0["kind"] as? String == "unknown_to_ledger" && $0["adamId"] as? String == Workspace.sharedApp })
        #expect(Set(drift.compactMap { $0["serialNumber"] as? String }) == [Workspace.serial(1), Workspace.serial(2)])
        #expect(found.filter { !$0[array: "drift"].isEmpty }.allSatisfy { $0["assignmentsRead"] as? String == "full" })

        let text = try await workspace.run("sync", "--tenant", "springfield")
        #expect(text.status == 4, "\(text)")
        #expect(text.stdout.contains("Needs attention: Apple and the ledger disagree on 2 licences"))
        #expect(text.stdout.contains("DRIFT"))
        #expect(text.stdout.contains("Drift: \(Workspace.sharedApp):STDQ on \(Workspace.serial(1))"))
        #expect(text.stdout.contains("allot sync --repair"))
        // `--limit N` cuts each token's differences (`--all` is every tenant here); JSON is never cut.
        let cut = try await workspace.run("sync", "--tenant", "springfield", "--limit", "1")
        #expect(cut.stdout.components(separatedBy: "Drift: ").count - 1 == 1, "\(cut)")
        #expect(cut.stdout.contains("… and 1 more differences on token 1; raise --limit to see more; --json lists every one."), "\(cut)")
        #expect(!text.stdout.contains("more differences"), "2 differences fit the 10 rows shown: \(text)")
        #expect(try await workspace.run("sync", "--tenant", "springfield", "--limit", "1", "--json").json()[array: "tokens"].flatMap { $0[array: "drift"] }.count == 2)
        let zero = try await workspace.run("sync", "--tenant", "springfield", "--limit", "0")
        #expect(zero.status == 2 && zero.stderr.contains("--limit must be 1 to 100,000"), "\(zero)")

        let repaired = try await workspace.run("sync", "--tenant", "springfield", "--repair")
        #expect(repaired.status == 0, "\(repaired)")
        #expect(repaired.stdout.contains("2 recorded"))
        let after = try await workspace.json("sync", "--tenant", "springfield")[array: "tokens"]
        #expect(after.allSatisfy { ($0["drift"] as? [Any])?.isEmpty == true })
        #expect(try await workspace.sharedPool()[int: "assigned"] == 2)
    }
}
