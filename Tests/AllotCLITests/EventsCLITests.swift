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

    /// A moment inside `detail` keeps its seconds since 1970 (scripts read them) and has beside
    /// it the same moment in RFC 3339 UTC, named with the suffix `Time`.
    @Test func aMomentInADetailHasItsRFC3339TwinBesideTheSeconds() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        try await workspace.json("sim", "renew-token", "--state", workspace.path("sim.json"), "--location", "1001", "--tokens-dir", workspace.path("tokens"))
        try await workspace.json("token", "renew", "--tenant", "springfield", "1001", workspace.tokenFile("1001"))
        let renewed = try #require(try await workspace.json("events", "--tenant", "springfield", "--kind", "token_renewed")[array: "events"].first)
        let detail = try #require(renewed["detail"] as? [String: Any])
        let seconds = try #require(detail["expiresAt"] as? Int, "the seconds stay: \(detail)")
        let text = try #require(detail["expiresAtTime"] as? String, "\(detail)")
        #expect(text.hasSuffix("Z") && text.count == "2027-09-01T00:00:00Z".count, "RFC 3339 in UTC to the second: \(text)")
        let parsed = try #require(ISO8601DateFormatter().date(from: text), "\(text) parses as RFC 3339")
        #expect(Int(parsed.timeIntervalSince1970) == seconds)
        let token = try #require(try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].first { $0["locationUid"] as? String == "1001" })
        #expect(token["expiresAt"] as? String == text, "the same moment as the token's own expiresAt")
        // A kind without moments is left as it was recorded.
        let added = try #require(try await workspace.json("events", "--tenant", "springfield", "--kind", "token_added")[array: "events"].first)
        #expect((added["detail"] as? [String: Any])?.keys.sorted() == ["locationName", "locationUid"])
    }

    /// `--limit` is what is read: a cut list says how many older events it left out, in the
    /// table and in the JSON (`eventsOmitted`).
    @Test func aCutListOfEventsCountsWhatItLeftOut() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 3)
        try await workspace.run("devices", "import", "--tenant", "springfield", workspace.write("one.csv", "serial_number\n\(Workspace.serial(9))\n"))
        let every = try await workspace.json("events", "--tenant", "springfield")
        #expect(every[array: "events"].count == 3)
        #expect(every[int: "eventsOmitted"] == 0)
        let one = try await workspace.json("events", "--tenant", "springfield", "--limit", "1")
        #expect(one[array: "events"].map { $0["kind"] as? String } == ["roster_imported"])
        #expect(one[int: "eventsOmitted"] == 2)
        let text = try await workspace.run("events", "--tenant", "springfield", "--limit", "1")
        #expect(text.stdout.contains("… and 2 more events; raise --limit (at most 10,000) or narrow with --since or --kind."), "\(text)")
        #expect(try await workspace.json("events", "--tenant", "springfield", "--kind", "tenant_created", "--limit", "1")[int: "eventsOmitted"] == 0)
    }
}
