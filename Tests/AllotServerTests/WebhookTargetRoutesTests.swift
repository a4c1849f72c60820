import AllotCore
import Foundation
import Testing

/// Issue 28.3 over HTTP: a tenant key can no longer register a webhook that points inside.
/// Nothing here is ever posted to: registration refuses without DNS and without connecting,
/// and the live server runs the HTTP API alone (no webhook sender), so even the receiver it
/// accepts (under `.invalid`, which never resolves) is never contacted.
@Suite(.timeLimit(.minutes(5))) struct WebhookTargetRoutesTests {
    @Test func everyInsideTargetTheIssueRegisteredIsRefusedWithOneSentence() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let path = "/v1/tenants/springfield/webhooks"
            let inside = [
                "http://127.0.0.1:\(live.port)/v1/tenants", "http://127.0.0.1:\(live.port)/apple/notifications/1",
                "https://127.0.0.1:\(live.port)/v1/tenants", "https://localhost/hook", "https://[::1]/hook", "https://0.0.0.0/hook",
                "https://2130706433/hook", "https://0x7f000001/hook", "https://127.1/hook", "https://169.254.169.254/latest/meta-data/",
                "https://[::ffff:169.254.169.254]/hook", "https://metadata.google.internal/computeMetadata/v1/",
                "https://10.0.0.1/hook", "https://172.16.0.1/hook", "https://192.168.1.1/hook",
                "http://mdm.example.invalid/hook",
            ]
            var refused = 0
            for url in inside {
                let reply = try await live.json(.POST, path, key: key, ["url": url])
                #expect(reply.status == 400, "\(url): \(reply.status) \(reply.text)")
                #expect(reply.code == "invalid_input", "\(url)")
                let message = reply.json["message"] as? String ?? ""
                #expect(message.contains("(rule "), "\(url): the rule is named: \(message)")
                #expect(!message.contains("--"), "no CLI flag in an HTTP answer: \(message)")
                if reply.status == 400 { refused += 1 }
            }
            #expect(refused == inside.count)
            let list = try await live.get(path, key: key)
            #expect(list.array("webhooks").isEmpty, "nothing was registered: \(list.text)")
            // A public https receiver is still welcome.
            #expect(try await live.json(.POST, path, key: key, ["url": "https://mdm.example.invalid/allot-events"]).status == 201)
        }
    }
}
