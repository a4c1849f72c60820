import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct EventsCLITests {
    @Test func eventsCarryAnISODateAKindAndADetailObject() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 3)
        let events = try await workspace.json("events", "--tenant", "springfield")[array: "events"]
        #expect(events.map { $0["kind"] as? String } == ["roster_imported", "tenant_created"])
        let imported = try #require(events.first)
        let detail = try #require(imported["detail"] as? [String: Any], "detail is an object, not a string")
        #expect(detail["imported"] as? Int == 3)
        let at = try #require(imported["at"] as? String)
        #expect(ISO8601DateFormatter().date(from: at) != nil, "at is ISO-8601: \(at)")
    }

    @Test func eventsCanBeFilteredByKindAndLimited() async throws {
        let workspace = try Workspace()
        // Tokens that have the app: a batch of an app no token has is refused, and writes no event.
        try await workspace.world(devices: 3)
        try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--all-devices")
        try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--all-devices")
        let batches = try await workspace.json("events", "--tenant", "springfield", "--kind", "assign_batch")[array: "events"]
        #expect(batches.count == 2)
        let one = try await workspace.json("events", "--tenant", "springfield", "--limit", "1")[array: "events"]
        #expect(one.count == 1)
    }
}
