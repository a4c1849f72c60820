import Foundation
import Testing

/// Assign and revoke against the simulator: results per item, exit codes, and Apple in step.
@Suite(.timeLimit(.minutes(5))) struct BatchCLITests {
    @Test func anAssignmentDrawsOnBothTokensUntilThePoolRunsOut() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 20)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(result.status == 3, "committed with failures: \(result)")
        let answer = try result.json()
        #expect(answer["batchId"] is Int)
        #expect(answer[object: "counts"]["assigned"] as? Int == 15)
        #expect(answer[object: "counts"]["no_license"] as? Int == 5)
        let items = answer[array: "items"]
        #expect(items.count == 20)
        let assigned = items.filter { $0["result"] as? String == "assigned" }
        #expect(Set(assigned.compactMap { $0["tokenId"] as? Int }).count == 2, "both tokens supply licences")
        #expect(items.filter { $0["result"] as? String == "no_license" }.allSatisfy { $0["reason"] is String && $0["tokenId"] is NSNull })
        #expect(try await workspace.sharedPool()[int: "available"] == 0)
        #expect(try await workspace.appleAssignments().count == 15, "pushed to Apple")
    }

    @Test func peopleGetASummaryLine() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        #expect(result.status == 0)
        #expect(result.stdout.contains("3 assigned"))
        #expect(result.stdout.contains("Batch 1"))
    }

    @Test func repeatingAnAssignmentSpendsNothing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let again = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(again.status == 0)
        #expect(try again.json()[object: "counts"]["already_assigned"] as? Int == 4)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 4)
    }

    @Test func allOrNothingWithoutEnoughLicencesChangesNothing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 16)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--all-or-nothing", "--json")
        #expect(result.status == 1)
        let answer = try result.json()
        #expect(answer["batchId"] is NSNull)
        #expect(answer[object: "counts"]["no_license"] as? Int == 1)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
        #expect(try await workspace.appleAssignments().isEmpty)
    }

    @Test func aDryRunReportsAndChangesNothing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 5)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--group", "lab", "--dry-run", "--json")
        #expect(result.status == 0)
        #expect(try result.json()[object: "counts"]["assigned"] as? Int == 2)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
        #expect(try await workspace.appleAssignments().isEmpty)
        // A group no device is in: refused (exit 1, as every refusal), `not_found` in the JSON.
        let misspelt = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--group", "labb", "--json")
        #expect(misspelt.status == 1, "\(misspelt)")
        #expect(try misspelt.json()["code"] as? String == "not_found", "\(misspelt)")
        #expect(misspelt.stderr.contains("no group 'labb'"), "\(misspelt)")
    }

    @Test func revokingGivesLicencesBackHereAndAtApple() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 6)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let revoked = try await workspace.json("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--group", "lab")
        #expect(revoked[object: "counts"]["revoked"] as? Int == 3)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 3)
        #expect(try await workspace.appleAssignments().count == 3)
        let again = try await workspace.json("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--group", "lab")
        #expect(again[object: "counts"]["not_assigned"] as? Int == 3)
    }

    @Test func noPushLeavesAppleForAllotPush() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let committed = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push")
        #expect(committed[object: "delivery"]["pushed"] as? Bool == false)
        #expect(try await workspace.appleAssignments().isEmpty)
        let push = try await workspace.json("push", "--tenant", "springfield")
        #expect(push[int: "sent"] ?? 0 >= 1)
        #expect(try await workspace.appleAssignments().count == 3)
    }

    @Test func anIdempotencyKeyReturnsTheFirstAnswer() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let first = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--idempotency-key", "k-1")
        let second = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--idempotency-key", "k-1")
        #expect(first["batchId"] as? Int == second["batchId"] as? Int)
        #expect(second[object: "counts"]["assigned"] as? Int == 3)
    }

    @Test func booksAndUnknownDevicesAreItemResults() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let book = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--all-devices", "--json")
        #expect(book.status == 3)
        #expect(try book.json()[array: "items"].first?["result"] as? String == "not_device_assignable")
        let stranger = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", "ZZZZ99999999", "--json")
        #expect(stranger.status == 3)
        #expect(try stranger.json()[array: "items"].first?["result"] as? String == "unknown_device")
    }

    @Test func retiringDevicesGivesTheirLicencesBack() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let retired = try await workspace.json("devices", "retire", "--tenant", "springfield", Workspace.serial(1), Workspace.serial(2))
        #expect(retired[int: "revoked"] == 2)
        #expect(retired["devices"] as? [String] == [Workspace.serial(1), Workspace.serial(2)])
        #expect(try await workspace.appleAssignments().count == 2)
    }

    @Test func aFallingTotalAtAppleIsReportedAsOverAllocation() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 15)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        try await workspace.json("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1002", "--app", Workspace.sharedApp, "--total", "3")
        let result = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(result.status == 4, "done, but Apple needs attention: \(result)")
        let synced = try result.json()[array: "tokens"]
        #expect(synced.last?[array: "overAllocated"].count == 1)
        #expect(try await workspace.sharedPool()[int: "overAllocated"] == 2)
    }
}
