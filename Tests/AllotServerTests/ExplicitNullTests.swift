import Allot
@testable import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// No request schema admits null: a field is given a value or left out. Before, Swift's decoder
/// read `"group": null` as a field left out, and the server took what the document forbids.
@Suite(.timeLimit(.minutes(5))) struct ExplicitNullTests {
    @Test func aNullOutsideStringsIsFoundAndOneInsideIsNot() {
        #expect(ExplicitNull.occurs(in: Array(#"{"group": null}"#.utf8)))
        #expect(ExplicitNull.occurs(in: Array(#"{"a": "x\"", "b": [1, null]}"#.utf8)))
        #expect(!ExplicitNull.occurs(in: Array(#"{"name": "null", "note": "an \"n\" inside", "on": true}"#.utf8)))
        #expect(ExplicitNull.location(in: Array(#"{"devices": [{"serialNumber": "A"}, {"serialNumber": "B", "name": null}]}"#.utf8)) == "devices[1].name")
        #expect(ExplicitNull.location(in: Array("null".utf8)) == "the body")
        #expect(ExplicitNull.location(in: Array(#"{"name": "null"}"#.utf8)) == nil)
    }

    @Test func aNullFieldIsRefusedWithOneSentenceAndChangesNothing() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let policy = try await live.json(.POST, "/v1/tenants", key: world.adminKey, ["slug": "springfield", "policy": NSNull()])
            #expect(policy.status == 400)
            #expect(policy.code == "invalid_input")
            #expect((policy.json["message"] as? String)?.hasPrefix("`policy` is null; leave the field out") == true)
            let tenants = try await live.get("/v1/tenants", key: world.adminKey)
            #expect(tenants.array("tenants").isEmpty, "a refused request created nothing")

            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let base = "/v1/tenants/springfield"
            let group = try await live.json(.POST, base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "group": NSNull()])
            #expect(group.status == 400)
            #expect((group.json["message"] as? String)?.hasPrefix("`group` is null") == true)

            let name = try await live.json(.POST, base + "/devices", key: key, ["devices": [["serialNumber": "SPR00000001", "name": NSNull()]]])
            #expect(name.status == 400)
            #expect((name.json["message"] as? String)?.hasPrefix("`devices[0].name` is null") == true)
            #expect(try await live.get(base + "/devices", key: key).array("devices").isEmpty, "a refused request registered nothing")

            let whole = try await live.send(.POST, base + "/devices/retire", key: key, body: Array("null".utf8), headers: [("Content-Type", "application/json")])
            #expect(whole.status == 400)
            #expect(whole.json["message"] as? String == "the body is null; send the JSON object openapi.yaml describes")

            // A string that spells null is a value like any other.
            let spelled = try await live.json(.POST, base + "/devices", key: key, ["devices": [["serialNumber": "SPR00000001", "name": "null"]]])
            #expect(spelled.status == 200)
        }
    }
}
