import Foundation
import Testing

/// Each piece of advice `sync` gives is checked against the state that produced it: with Apple
/// unreachable the tokens are not dead, so the advice is about reaching Apple, not renewing.
@Suite(.timeLimit(.minutes(5))) struct UnreachableAppleCLITests {
    /// Nothing listens on the discard port of loopback: every connection is refused at once.
    static let unreachableApple = "http://127.0.0.1:9/mdm/v2"

    @Test(.timeLimit(.minutes(5)))
    func anUnreachableAppleIsNamedNotAdvisedAsDeadTokens() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let started = Date()
        let sync = try await workspace.run("sync", "--tenant", "springfield", environment: ["ALLOT_APPLE": Self.unreachableApple])
        // A refused connection fails at once (no 30 s of retries per call).
        #expect(Date().timeIntervalSince(started) < 20, "sync took \(Date().timeIntervalSince(started)) s")
        #expect(sync.status == 4, "exit 4, attention: \(sync)")
        let attention = sync.stdout.split(separator: "\n").filter { $0.hasPrefix("Needs attention: ") }
        #expect(attention.count == 1, "\(sync)")
        #expect(attention.first?.hasPrefix("Needs attention: Apple could not be reached: ") == true, "\(sync)")
        #expect(attention.first?.contains("--apple or $ALLOT_APPLE") == true, "\(sync)")
        #expect(!sync.stdout.contains("renew, take over or add one"), "\(sync)")
        #expect(sync.stdout.contains("Synced 0 of 2 tokens: Apple could not be reached for 2."), "\(sync)")

        let json = try await workspace.run("sync", "--tenant", "springfield", "--json", environment: ["ALLOT_APPLE": Self.unreachableApple])
        #expect(json.status == 4)
        let answer = try json.json()
        #expect(answer["needsAttention"] as? Bool == true)
        #expect((answer["attention"] as? [String])?.first?.hasPrefix("Apple could not be reached: ") == true, "\(answer)")
        let tokens = answer[array: "tokens"]
        #expect(tokens.count == 2)
        #expect(tokens.allSatisfy { $0["appleUnreachable"] as? Bool == true && $0["state"] as? String == "active" && $0["error"] is String })

        // Reached again, the same tokens sync, and nothing needs attention.
        let reached = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(reached.status == 0, "\(reached)")
        #expect(try reached.json()[array: "tokens"].allSatisfy { $0["appleUnreachable"] as? Bool == false })
    }

    @Test(.timeLimit(.minutes(5)))
    func deadTokensAreAdvisedToBeRenewedAndATenantWithoutTokensToAddOne() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        for uId in ["1001", "1002"] {
            #expect(try await workspace.run("sim", "revoke-token", "--state", workspace.path("sim.json"), "--location", uId).status == 0)
        }
        let dead = try await workspace.run("sync", "--tenant", "springfield")
        #expect(dead.status == 4, "\(dead)")
        #expect(dead.stdout.contains("Needs attention: no token is active; renew, take over or add one"), "\(dead)")
        #expect(!dead.stdout.contains("could not be reached"), "\(dead)")

        #expect(try await workspace.run("tenant", "create", "shelbyville").status == 0)
        let empty = try await workspace.run("sync", "--tenant", "shelbyville")
        #expect(empty.status == 4, "\(empty)")
        #expect(empty.stdout.contains("Needs attention: the tenant has no token; add one with `allot token add`"), "\(empty)")
    }
}
