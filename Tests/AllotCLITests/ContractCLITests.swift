import Foundation
import Testing

/// The published views through the built binary: the same fields as the HTTP API, optional
/// ones present and null (one contract, AllotViews); shell completion from the parser.
@Suite(.timeLimit(.minutes(5))) struct ContractCLITests {
    @Test func optionalFieldsArePresentAndNullAndTheHTTPFieldsAreThereToo() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        let dryRun = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp,
                                       "--serial", Workspace.serial(1), "NOTASERIAL!", "--dry-run", "--json")
        let batch = try dryRun.json()
        #expect(batch["batchId"] is NSNull)
        #expect(batch["adamId"] as? String == Workspace.sharedApp)
        for item in batch[array: "items"] {
            #expect(item["adamId"] as? String == Workspace.sharedApp)
            #expect(item["pricingParam"] as? String == "STDQ")
            #expect(item.keys.contains("tokenId") && item.keys.contains("reason"), "\(item)")
        }

        let token = try #require(try await workspace.json("token", "list", "--tenant", "springfield")[array: "tokens"].first)
        #expect(token["ownerName"] is NSNull)
        #expect(token["expiringSoon"] as? Bool == false)
        #expect(token.keys.contains("lastSyncAt"))

        let app = try await workspace.sharedPool()
        #expect(app[int: "assignedOnUnusableTokens"] == 0)
        #expect(app[array: "tokens"].allSatisfy { $0["assignedHere"] is Int })

        let device = try #require(try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].first)
        #expect(Set(device.keys) == ["serialNumber", "name", "model", "group", "retired"])

        let event = try #require(try await workspace.json("events", "--tenant", "springfield")[array: "events"].first)
        #expect(event.keys.contains("tokenId"))
        #expect(event["id"] is Int)
    }

    @Test func anEngineRefusalGetsTheCommandThatFixesItOnlyOnTheCommandLine() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        try await workspace.tenantWithDevices(count: 1)
        let noApple = try await workspace.run(arguments: ["token", "add", "--tenant", "springfield", workspace.tokenFile("1001")],
                                        environment: ["ALLOT_APPLE": ""])
        #expect(noApple.status == 1)
        noApple.expectOneSentence(containing: "--apple sim:PATH")
        let unknown = try await workspace.run("token", "remove", "--tenant", "springfield", "42")
        #expect(unknown.status == 1)
        unknown.expectOneSentence(containing: "`allot token list --tenant springfield`")
    }

    @Test func completionScriptsAreGeneratedForTheShells() async throws {
        let workspace = try Workspace()
        for shell in ["bash", "zsh", "fish"] {
            let script = try await workspace.run("--generate-completion-script", shell)
            #expect(script.status == 0, "\(script)")
            #expect(script.stdout.contains("allot"))
            #expect(script.stdout.contains("inspect"), "\(shell): the token subcommands are completed")
        }
    }
}
