import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct TenantCLITests {
    @Test func createdTenantsAreListedWithSlugNameAndPolicy() async throws {
        let workspace = try Workspace()
        let created = try await workspace.run("tenant", "create", "springfield", "--name", "Springfield Schools", "--policy", "latest-expiry")
        #expect(created.status == 0, "\(created)")
        #expect(created.stdout.contains("springfield"))
        try await workspace.run("tenant", "create", "shelbyville")

        let list = try await workspace.json("tenant", "list")
        let tenants = list[array: "tenants"]
        #expect(tenants.count == 2)
        #expect(tenants.first?["slug"] as? String == "shelbyville")
        #expect(tenants.last?["name"] as? String == "Springfield Schools")
        #expect(tenants.last?["policy"] as? String == "latest-expiry")
    }

    @Test func aSecondTenantWithTheSameSlugIsRefusedAndNothingChanges() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield", "--name", "First")
        let again = try await workspace.run("tenant", "create", "springfield", "--name", "Second")
        #expect(again.status == 1)
        #expect(again.stdout.isEmpty)
        again.expectOneSentence(containing: "already exists")
        let tenants = try await workspace.json("tenant", "list")[array: "tenants"]
        #expect(tenants.count == 1)
        #expect(tenants.first?["name"] as? String == "First")
    }

    @Test func aMalformedSlugIsAUsageError() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("tenant", "create", "Not_A_Slug")
        #expect(result.status == 2)
        #expect(result.stderr.contains("not a valid slug"))
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite")), "nothing was created")
    }

    @Test func anUnknownPolicyIsAUsageError() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield", "--policy", "random").status == 2)
    }

    @Test func anUnknownTenantIsRefusedWithTheCommandThatCreatesIt() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let result = try await workspace.run("devices", "list", "--tenant", "nobody")
        #expect(result.status == 1)
        result.expectOneSentence(containing: "allot tenant create nobody")
    }

    @Test func listingWithNoDatabaseSaysHowToCreateOne() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("tenant", "list")
        #expect(result.status == 1, "only commands that create things create the database")
        result.expectOneSentence(containing: "allot tenant create")
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite")))
    }
}
