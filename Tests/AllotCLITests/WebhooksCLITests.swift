import Foundation
import Testing

/// Webhooks registered and refused through the CLI. Nothing here is ever posted to: no
/// `allot serve` (and so no webhook sender) runs, and the one receiver registered is under
/// `.invalid`, a name that never resolves (RFC 6761); the private addresses are only refused.
@Suite(.timeLimit(.minutes(5))) struct WebhooksCLITests {
    @Test func aWebhookIsAddedWithItsSecretShownOnceListedWithoutItAndRemoved() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 1)
        let added = try await workspace.json("webhooks", "add", "--tenant", "springfield", "https://mdm.example.invalid/allot-events")
        let secret = try #require(added["secret"] as? String)
        #expect(secret.hasPrefix("whsec_"))
        let webhook = try #require(added["webhook"] as? [String: Any])
        let id = try #require(webhook["id"] as? Int)
        #expect(webhook["url"] as? String == "https://mdm.example.invalid/allot-events")
        #expect(webhook["pendingEvents"] as? Int == 1, "its first event says it was added")

        let listed = try await workspace.run("webhooks", "list", "--tenant", "springfield")
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("https://mdm.example.invalid/allot-events"))
        let listedJSON = try await workspace.run("webhooks", "list", "--tenant", "springfield", "--json")
        for output in [listed.stdout + listed.stderr, listedJSON.stdout + listedJSON.stderr] {
            #expect(!output.contains(secret), "the secret is never shown again")
            #expect(!output.contains(String(secret.dropFirst(6).prefix(8))), "not even its first bytes")
        }
        let events = try await workspace.run("events", "--tenant", "springfield", "--json")
        #expect(!events.stdout.contains(secret))
        let kinds = try await workspace.json("events", "--tenant", "springfield")[array: "events"].compactMap { $0["kind"] as? String }
        #expect(kinds.first == "webhook_added")

        let removed = try await workspace.json("webhooks", "remove", "--tenant", "springfield", "\(id)")
        #expect((removed["removed"] as? [String: Any])?["id"] as? Int == id)
        #expect(try await workspace.json("webhooks", "list", "--tenant", "springfield")[array: "webhooks"].isEmpty)
    }

    @Test func aURLThatIsNotHTTPOrIsMalformedIsOneSentenceAndChangesNothing() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 1)
        for bad in ["ftp://mdm.example.invalid/x", "mdm.example.invalid/hook", "https://"] {
            let result = try await workspace.run("webhooks", "add", "--tenant", "springfield", bad)
            #expect(result.status == 1, "\(result)")
            result.expectOneSentence(containing: "webhook URL")
        }
        #expect(try await workspace.json("webhooks", "list", "--tenant", "springfield")[array: "webhooks"].isEmpty)
        // Issue 28.3: inside addresses and http are the operator's to allow, with serve's flags.
        for inside in ["http://mdm.example.invalid/x", "https://127.1/x", "https://[::ffff:169.254.169.254]/x", "https://metadata.google.internal/"] {
            let result = try await workspace.run("webhooks", "add", "--tenant", "springfield", inside)
            #expect(result.status == 1, "\(result)")
            result.expectOneSentence(containing: "(rule ")
        }
        #expect(try await workspace.json("webhooks", "list", "--tenant", "springfield")[array: "webhooks"].isEmpty)
        let allowed = try await workspace.run("webhooks", "add", "--tenant", "springfield", "--webhook-allow-http", "--webhook-allow", "127.0.0.0/8",
                                        "http://127.1:9000/x")
        #expect(allowed.status == 0, "\(allowed)")
        let wrongFlag = try await workspace.run("webhooks", "add", "--tenant", "springfield", "--webhook-allow", "10.0.0.0/33", "https://10.0.0.1/x")
        #expect(wrongFlag.status != 0)
        #expect(wrongFlag.stderr.contains("--webhook-allow"), "\(wrongFlag)")
        let missing = try await workspace.run("webhooks", "remove", "--tenant", "springfield", "42")
        #expect(missing.status == 1)
        missing.expectOneSentence(containing: "no webhook 42")
    }
}
