import AllotServer
import Foundation
import Testing

/// Every refusal of the HTTP API is the one published error object (`ErrorView`), whichever
/// layer refuses: the routes, the key check, the method table, the body reader, the engine.
@Suite(.timeLimit(.minutes(5))) struct ErrorObjectTests {
    @Test func everyKindOfRefusalIsTheOneErrorObjectWithItsFormerShapeInside() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let refusals: [(Reply, Int, String)] = [
                (try await live.get("/v2/nothing", key: nil), 404, "not_found"),
                (try await live.get("/v1/tenants/springfield/apps", key: nil), 401, "unauthorized"),
                (try await live.send(.DELETE, "/healthz"), 405, "method_not_allowed"),
                (try await live.send(.POST, "/v1/tenants/springfield/assignments", key: key, body: Array("{".utf8),
                                     headers: [("Content-Type", "application/json")]), 400, "invalid_input"),
                (try await live.json(.POST, "/v1/tenants/springfield/assignments", key: key,
                                     ["app": "99999", "serialNumbers": ["C02XK1ABJHD5"]]), 422, "unknown_app"),
            ]
            for (reply, status, code) in refusals {
                #expect(reply.status == status, "\(reply.text)")
                #expect(Set(reply.json.keys) == ["code", "message", "usage", "error"], "\(reply.text)")
                #expect(reply.code == code, "\(reply.text)")
                #expect(reply.json["usage"] is NSNull, "usage belongs to the command line: \(reply.text)")
                let former = reply.json["error"] as? [String: Any] ?? [:]
                #expect(former["code"] as? String == code && former["message"] as? String == reply.json["message"] as? String, "\(reply.text)")
                #expect((reply.json["message"] as? String).map { !$0.isEmpty && !$0.contains("\n") } == true, "\(reply.text)")
            }
        }
    }
}
