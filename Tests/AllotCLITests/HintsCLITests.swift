import Foundation
import Testing

/// Hints repeat what was typed (the real slug) and offer what exists (the nearest tenant, the
/// event kinds), instead of a placeholder or a silent empty answer.
@Suite(.timeLimit(.minutes(5))) struct HintsCLITests {
    @Test func anUnknownTenantSuggestsTheNearestExistingOneBeforeCreatingIt() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        try await workspace.run("tenant", "create", "shelbyville")
        let result = try await workspace.run("apps", "--tenant", "springfeld")
        #expect(result.status == 1, "\(result)")
        result.expectOneSentence(containing: "There is no tenant 'springfeld' (did you mean springfield?); create it first with `allot tenant create springfeld`.")
    }

    @Test func anUnknownTenantFarFromEveryOneIsOfferedOnlyCreate() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("apps", "--tenant", "ogdenville")
        #expect(result.status == 1, "\(result)")
        result.expectOneSentence(containing: "`allot tenant create ogdenville`")
        #expect(!result.stderr.contains("did you mean"), "\(result)")
    }

    @Test func anUnknownTokenHintNamesTheTenantTyped() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("token", "remove", "--tenant", "springfield", "99")
        #expect(result.status == 1, "\(result)")
        result.expectOneSentence(containing: "`allot token list --tenant springfield`")
        #expect(!result.stderr.contains("SLUG"), "\(result)")
    }

    @Test func anEventKindThatDoesNotExistIsAUsageErrorThatListsTheKinds() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("events", "--tenant", "springfield", "--kind", "assign")
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("--kind 'assign' is not an event kind; did you mean assign_batch"), "\(result)")
        #expect(result.stderr.contains("token_state_changed"), "every kind is listed: \(result)")

        let typo = try await workspace.run("events", "--tenant", "springfield", "--kind", "tenant_creatd")
        #expect(typo.status == 2, "\(typo)")
        #expect(typo.stderr.contains("did you mean tenant_created?"), "\(typo)")

        let known = try await workspace.run("events", "--tenant", "springfield", "--kind", "tenant_created")
        #expect(known.status == 0, "\(known)")
        #expect(known.stdout.contains("1 event of kind tenant_created"), "\(known)")
    }
}
