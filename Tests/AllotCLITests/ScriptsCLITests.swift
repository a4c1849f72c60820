import Foundation
import Testing

/// What scripts and cron jobs rely on (issue 16.2, 16.3): global options in either place, an exit
/// code and JSON fields for Apple trouble, and errors as one JSON object with `--json`.
@Suite(.timeLimit(.minutes(5))) struct ScriptsCLITests {
    @Test func globalOptionsWorkBeforeTheCommandToo() async throws {
        let workspace = try Workspace()
        let other = workspace.path("other.sqlite")
        let created = try await workspace.run("--db", other, "tenant", "create", "springfield")
        #expect(created.status == 0, "\(created)")
        let listed = try await workspace.run("--json", "--db", other, "tenant", "list")
        #expect(listed.status == 0, "\(listed)")
        #expect(try listed.json()[array: "tenants"].map { $0["slug"] as? String } == ["springfield"])
        let equals = try await workspace.run("--db=\(other)", "tenant", "list", "--json")
        #expect(equals.status == 0, "\(equals)")
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite")), "the default database was never used")
    }

    @Test func pushWithEveryTokenRevokedExitsFourAndSaysWhy() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push")
        #expect(assigned.status == 0, "\(assigned)")
        for uId in ["1001", "1002"] {
            let revoked = try await workspace.run("sim", "revoke-token", "--state", workspace.path("sim.json"), "--location", uId)
            #expect(revoked.status == 0, "\(revoked)")
        }
        let pushed = try await workspace.run("push", "--tenant", "springfield", "--json")
        #expect(pushed.status == 4, "done, but Apple needs attention: \(pushed)")
        let answer = try pushed.json()
        #expect(answer["needsAttention"] as? Bool == true)
        #expect(!(answer["attention"] as? [String] ?? []).isEmpty)
        #expect(!(answer["pausedTokens"] as? [Int] ?? []).isEmpty, "the push report's own fields stay")
        let text = try await workspace.run("push", "--tenant", "springfield")
        #expect(text.status == 4)
        #expect(text.stdout.contains("Needs attention:"), "\(text.stdout)")
    }

    @Test func syncWithAnOverAllocationOrNoActiveTokenExitsFour() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 8)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices").status == 0)
        let clean = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(clean.status == 0, "\(clean)")
        #expect(try clean.json()["needsAttention"] as? Bool == false)

        let lowered = try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1001",
                                        "--app", Workspace.sharedApp, "--total", "1")
        #expect(lowered.status == 0, "\(lowered)")
        let over = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(over.status == 4, "\(over)")
        let answer = try over.json()
        #expect(answer["needsAttention"] as? Bool == true)
        #expect(answer[array: "tokens"].contains { !($0["overAllocated"] as? [Any] ?? []).isEmpty })

        for uId in ["1001", "1002"] {
            #expect(try await workspace.run("sim", "revoke-token", "--state", workspace.path("sim.json"), "--location", uId).status == 0)
        }
        let dead = try await workspace.run("sync", "--tenant", "springfield")
        #expect(dead.status == 4, "\(dead)")
        #expect(dead.stdout.contains("no token is active"), "\(dead.stdout)")
    }

    @Test func withJSONAnErrorIsOneObjectOnStdoutWithTheAPICode() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let missing = try await workspace.run("apps", "--tenant", "nosuch", "--json")
        #expect(missing.status == 1)
        missing.expectOneSentence()
        let error = try missing.json()[object: "error"]
        #expect(error["code"] as? String == "not_found")
        #expect((error["message"] as? String)?.isEmpty == false)

        let usage = try await workspace.run("--json", "assign", "--tenant", "springfield")
        #expect(usage.status == 2)
        #expect(try usage.json()[object: "error"]["code"] as? String == "invalid_input")

        let plain = try await workspace.run("apps", "--tenant", "nosuch")
        #expect(plain.stdout.isEmpty, "without --json stdout stays empty")
    }
}
