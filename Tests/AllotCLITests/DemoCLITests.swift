import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct DemoCLITests {
    @Test func theDemoTellsTheWholeStoryAndCleansUp() async throws {
        let workspace = try Workspace()
        let scratch = workspace.path("tmp")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        // The demo must not need (or touch) the caller's database or Apple.
        let result = try await workspace.run("demo", environment: ["TMPDIR": scratch, "ALLOT_APPLE": "https://example.invalid"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty, "no progress line when stderr is not a terminal: \(result.stderr)")
        for fact in [
            "Imported 1,000 new devices",
            "900 assigned, 100 no_license (token 1: 600, token 2: 300)",
            "claimed_elsewhere",
            "Took over token 2 from Apple Configurator 2",
            "every assignment is kept",
            "Send an uninstall to 300 devices",
            "token_removed",
        ] {
            #expect(result.stdout.contains(fact), "the demo shows: \(fact)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty, "the temporary folder is removed")
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite")))
    }

    @Test func examplesWalkThroughAsTheReadmeSays() async throws {
        let workspace = try Workspace()
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples")
        let seed = examples.appendingPathComponent("seed.json").path
        let roster = examples.appendingPathComponent("roster.csv").path
        try await workspace.simulator(seed: String(contentsOfFile: seed, encoding: .utf8))
        try await workspace.run("tenant", "create", "springfield", "--name", "Springfield Schools")
        for uId in ["1001", "1002"] { #expect(try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile(uId)).status == 0) }
        #expect(try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("3001")).status == 1)
        #expect(try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("3001"), "--takeover").status == 0)
        let imported = try await workspace.json("devices", "import", "--tenant", "springfield", roster)
        #expect(imported[int: "imported"] == 200)
        #expect(imported[array: "rejected"].isEmpty)
        let batch = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--all-devices", "--json")
        #expect(batch.status == 3)
        #expect(try batch.json()[object: "counts"]["assigned"] as? Int == 185)
        #expect(try batch.json()[object: "counts"]["no_license"] as? Int == 15)
        let refused = try await workspace.run("assign", "--tenant", "springfield", "--app", "361285480", "--group", "grade-6", "--all-or-nothing")
        #expect(refused.status == 1)
    }
}
