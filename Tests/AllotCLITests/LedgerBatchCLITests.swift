import Foundation
import Testing

/// Batches that need no Apple: every item's result, the counts, and the exit codes.
@Suite(.timeLimit(.minutes(5))) struct LedgerBatchCLITests {
    @Test func anAppInNoTokenIsRefusedWholeBeforeItsItemsAreDecided() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 2)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--serial", Workspace.serial(1), "nope", "--json")
        #expect(result.status == 1, "\(result)")
        #expect(try result.json()[object: "error"]["code"] as? String == "unknown_app")
        result.expectOneSentence(containing: "App 361309726:STDQ is in none of this tenant's tokens")
    }

    @Test func allOrNothingWithAFailureCommitsNothingAndExitsWithOne() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--serial", Workspace.serial(1), "nope",
                                       "--all-or-nothing", "--json")
        #expect(result.status == 1)
        let answer = try result.json()
        #expect(answer["batchId"] is NSNull)
        #expect(answer["committed"] as? Bool == false)
        #expect(answer[array: "items"].map { $0["result"] as? String } == ["assigned", "invalid_serial"])
        let batches = try await workspace.json("events", "--tenant", "springfield", "--kind", "assign_batch")[array: "events"]
        #expect(batches.isEmpty, "nothing was committed")
    }

    @Test func serialsGivenWithCommasAreSeparateItems() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let result = try await workspace.run("revoke", "--tenant", "springfield", "--app", "361309726", "--serial", "C02XK1JHJG5J,12", "--json")
        let items = try result.json()[array: "items"]
        #expect(items.compactMap { $0["serialNumber"] as? String } == ["C02XK1JHJG5J", "12"])
        #expect(items.last?["result"] as? String == "invalid_serial")
        #expect(result.status == 3)
    }

    @Test func anEmptyGroupIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 2)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--group", "gym")
        #expect(result.status == 1)
        result.expectOneSentence(containing: "gym")
    }

    @Test func aRosterWithABadLineIsRefusedWithItsLineNumber() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 2)
        let roster = try workspace.write("pick.csv", "serial_number\n\(Workspace.serial(1))\nx\n")
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--roster", roster)
        #expect(result.status == 1)
        result.expectOneSentence(containing: "Line 3")
    }

    @Test func aPlainListOfSerialsIsARoster() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let roster = try workspace.write("pick.txt", "\(Workspace.serial(1))\n\(Workspace.serial(3))\n")
        let result = try await workspace.run("revoke", "--tenant", "springfield", "--app", "361309726", "--roster", roster, "--dry-run", "--json")
        let items = try result.json()[array: "items"]
        #expect(items.compactMap { $0["serialNumber"] as? String } == [Workspace.serial(1), Workspace.serial(3)])
    }
}
