import Allot
import AllotCore
import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// An app that no token of the tenant has is a mistake in the request: refused with 422
/// `unknown_app` before anything is written. An `items` batch that also names a known app keeps
/// the per-item `unknown_app`.
@Suite(.timeLimit(.minutes(5))) struct UnknownAppRoutesTests {
    static let base = BatchesRoutesTests.base

    @Test(.timeLimit(.minutes(2)))
    func aBatchOfAnAppNoTokenHasIsRefusedWith422AndWritesNothing() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await BatchesRoutesTests().prepared(live, world, devices: 3)
            let eventsBefore = try await live.get(Self.base + "/events?limit=500", key: key).array("events").count
            let requests: [(String, [String: Any])] = [
                ("/assignments", ["app": "999999", "allDevices": true]),
                ("/assignments", ["app": "999999:STDQ", "serialNumbers": [ServerWorld.serial(1)]]),
                ("/assignments", ["app": "999999", "group": "odd", "mode": "dry-run"]),
                ("/revocations", ["app": "999999", "allDevices": true]),
                ("/assignments", ["items": [["app": "999999", "serialNumber": ServerWorld.serial(1)],
                                            ["app": "888888", "serialNumber": ServerWorld.serial(2)]]]),
            ]
            for (path, body) in requests {
                let reply = try await live.json(.POST, Self.base + path, key: key, body, headers: [("Idempotency-Key", UUID().uuidString)])
                #expect(reply.status == 422, "\(path) \(body): \(reply.text)")
                #expect(reply.code == "unknown_app")
                let message = reply.json["message"] as? String ?? ""
                #expect(message.contains("999999:STDQ is in none of this tenant's tokens") || message.contains("apps 888888:STDQ, 999999:STDQ are"), "\(message)")
                #expect(message.contains("GET /v1/tenants/springfield/apps"), "\(message)")
                #expect(!message.contains("allot "), "an HTTP answer names no CLI command: \(message)")
            }
            let eventsAfter = try await live.get(Self.base + "/events?limit=500", key: key).array("events").count
            #expect(eventsAfter == eventsBefore, "a refused batch writes no event")
            let apps = try await live.get(Self.base + "/apps", key: key).array("apps")
            #expect(apps.allSatisfy { ($0["assigned"] as? Int) == 0 })
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func itemsThatAlsoNameAKnownAppKeepThePerItemOutcome() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await BatchesRoutesTests().prepared(live, world, devices: 2)
            let reply = try await live.json(.POST, Self.base + "/assignments", key: key, ["items": [
                ["app": "361309726", "serialNumber": ServerWorld.serial(1)],
                ["app": "999999", "serialNumber": ServerWorld.serial(2)],
            ]])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.array("items").map { $0["result"] as? String } == ["assigned", "unknown_app"])
            #expect(reply.json["committed"] as? Bool == true)
        }
    }
}
