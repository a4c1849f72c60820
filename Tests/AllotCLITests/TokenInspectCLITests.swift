import Foundation
import Testing

/// `allot token inspect` and the dry runs of `token add` / `token renew`: the built binary
/// against the simulator; what they print, and that nothing anywhere changed.
@Suite(.timeLimit(.minutes(5))) struct TokenInspectCLITests {
    /// Everything a look could change: the ledger's tokens and events, Apple's state, the file.
    func snapshot(_ workspace: Workspace, file: String) async throws -> [String] {
        [
            try await workspace.run("token", "list", "--tenant", "springfield", "--json").stdout,
            try await workspace.run("events", "--tenant", "springfield", "--json").stdout,
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: workspace.path("sim.json"))), as: UTF8.self),
            try String(contentsOfFile: file, encoding: .utf8),
        ]
    }

    @Test func inspectingAFreshFileShowsTheLocationAndWhatAddingWouldDoAndChangesNothing() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        try await workspace.tenantWithDevices(count: 1)
        let file = workspace.tokenFile("1001")
        let before = try await snapshot(workspace, file: file)

        let answer = try await workspace.json("token", "inspect", "--tenant", "springfield", file)
        #expect(answer["operation"] as? String == "add")
        #expect(answer["locationUid"] as? String == "1001")
        #expect(answer["locationName"] as? String == "Main Campus")
        #expect(answer["orgName"] as? String == "Springfield Schools")
        #expect(answer["expiresAt"] as? String == "2027-09-01T00:00:00Z")
        #expect(answer[object: "managedBy"]["state"] as? String == "unclaimed")
        #expect(answer[int: "apps"] == 2)
        #expect(answer[int: "licences"] == 40)
        #expect(answer[int: "licencesInUse"] == 0)
        #expect(answer["takeoverNeeded"] as? Bool == false)
        #expect(answer["outcome"] as? String == "would_add")
        #expect(answer["refusal"] is NSNull)

        let text = try await workspace.run("token", "inspect", "--tenant", "springfield", file)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("Main Campus (1001) of Springfield Schools"))
        #expect(text.stdout.contains("Adding it would claim the location"))
        #expect(text.stdout.contains("Nothing was changed."))

        let dryRun = try await workspace.run("token", "add", "--tenant", "springfield", file, "--dry-run", "--json")
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(try dryRun.json()["outcome"] as? String == "would_add")

        let secret = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for output in [answer.description, text.stdout, text.stderr, dryRun.stdout] { #expect(!output.contains(secret)) }
        #expect(try await snapshot(workspace, file: file) == before, "inspecting changed the ledger, Apple or the file")
    }

    @Test func aFileIsInspectedWithoutATenantAndJudgedAgainstTheWholeLedger() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        try await workspace.tenantWithDevices(count: 1)
        let file = workspace.tokenFile("1001")

        let fresh = try await workspace.json("token", "inspect", file)
        #expect(fresh["locationUid"] as? String == "1001")
        #expect(fresh[object: "managedBy"]["state"] as? String == "unclaimed")
        #expect(fresh["outcome"] as? String == "would_add")
        let text = try await workspace.run("token", "inspect", file)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("Main Campus (1001) of Springfield Schools"), "\(text)")

        #expect(try await workspace.run("token", "add", "--tenant", "springfield", file).status == 0)
        let held = try await workspace.run("token", "inspect", file, "--json")
        #expect(held.status == 0, "\(held)")
        let answer = try held.json()
        #expect(answer[object: "managedBy"]["state"] as? String == "this_tenant", "the tenant whose mdmInfo Apple shows")
        #expect(answer["outcome"] as? String == "refused")
        #expect((answer[object: "refusal"]["message"] as? String)?.contains("of tenant springfield") == true, "\(answer)")

        let renewing = try await workspace.run("token", "inspect", file, "--renewing", "1")
        #expect(renewing.status == 2, "--renewing needs a tenant: \(renewing)")
        #expect(renewing.stderr.contains("--renewing needs --tenant"))
    }

    @Test func aLocationAnotherServerManagesNeedsATakeOverAndTheDryRunSaysSo() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        try await workspace.tenantWithDevices(count: 1)
        let file = workspace.tokenFile("3001")
        let before = try await snapshot(workspace, file: file)

        let refused = try await workspace.run("token", "add", "--tenant", "springfield", file, "--dry-run", "--json")
        #expect(refused.status == 1, "the real add would be refused: \(refused)")
        let answer = try refused.json()
        #expect(answer[object: "managedBy"]["state"] as? String == "another_server")
        #expect(answer[object: "managedBy"]["name"] as? String == "Apple Configurator 2")
        #expect(answer["takeoverNeeded"] as? Bool == true)
        #expect(answer["outcome"] as? String == "refused")
        #expect(answer[object: "refusal"]["code"] as? String == "conflict")

        let withTakeover = try await workspace.json("token", "add", "--tenant", "springfield", file, "--dry-run", "--takeover")
        #expect(withTakeover["outcome"] as? String == "would_take_over")
        #expect(try await snapshot(workspace, file: file) == before)
    }

    @Test func aRenewalDryRunNamesTheTokenItRenewsOrWhyItIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let main = try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].first { $0["locationUid"] as? String == "1001" }
        let id = try #require(main?["id"] as? Int)
        let renewed = try await workspace.run("sim", "renew-token", "--state", workspace.path("sim.json"), "--location", "1001",
                                        "--tokens-dir", workspace.path("tokens"))
        #expect(renewed.status == 0, "\(renewed)")
        let file = workspace.tokenFile("1001")
        let before = try await snapshot(workspace, file: file)

        let answer = try await workspace.json("token", "renew", "--tenant", "springfield", "\(id)", file, "--dry-run")
        #expect(answer["operation"] as? String == "renew")
        #expect(answer["outcome"] as? String == "would_renew")
        #expect(answer[int: "renewsTokenId"] == id)
        #expect(answer[object: "managedBy"]["state"] as? String == "this_tenant")

        let wrong = try await workspace.run("token", "renew", "--tenant", "springfield", "\(id)", workspace.tokenFile("1002"), "--dry-run")
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("Renewing it would be refused"))
        #expect(wrong.stdout.contains("North Campus (1002)"))
        #expect(try await snapshot(workspace, file: file) == before)
    }
}
