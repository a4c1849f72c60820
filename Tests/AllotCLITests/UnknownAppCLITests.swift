import Foundation
import Testing

/// An app that no token of the tenant has is a mistake in the command: `assign` and `revoke`
/// refuse it in one sentence, before anything is written (no batch, no event), exit 1.
@Suite(.timeLimit(.minutes(5))) struct UnknownAppCLITests {
    @Test(.timeLimit(.minutes(5)))
    func anAppNoTokenHasIsRefusedBeforeAnyBatchIsWritten() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        let eventsBefore = try await workspace.json("events", "--tenant", "springfield", "--limit", "500")[array: "events"].count
        for arguments in [["assign", "--app", "999999", "--all-devices"],
                          ["assign", "--app", "999999:PLUS", "--group", "lab", "--queue"],
                          ["assign", "--app", "999999", "--serial", Workspace.serial(1), "--dry-run"],
                          ["revoke", "--app", "999999", "--all-devices", "--all-or-nothing"]] {
            let refused = try await workspace.run(arguments: arguments + ["--tenant", "springfield"])
            #expect(refused.status == 1, "\(arguments): \(refused)")
            #expect(refused.stdout.isEmpty, "\(refused)")
            refused.expectOneSentence(containing: "is in none of this tenant's tokens")
            #expect(refused.stderr.contains("App 999999:"), "names the app: \(refused.stderr)")
            #expect(refused.stderr.contains("`allot apps --tenant springfield`"), "says how to list the apps: \(refused.stderr)")
        }
        let json = try await workspace.run("assign", "--tenant", "springfield", "--app", "999999", "--all-devices", "--json")
        #expect(json.status == 1)
        let error = try json.json()[object: "error"]
        #expect(error["code"] as? String == "unknown_app")

        let events = try await workspace.json("events", "--tenant", "springfield", "--limit", "500")[array: "events"]
        #expect(events.count == eventsBefore, "nothing written: \(events.prefix(3))")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
        // A known app still runs, and its batch is the tenant's first.
        let assigned = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(1))
        #expect(assigned["batchId"] as? Int == 1)
    }
}
