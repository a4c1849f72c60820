import Allot
import AllotStore
import AllotCore
import AllotServer
import Foundation
import Testing

/// `"queue": true` on an assign batch, `GET …/queue`, `POST …/queue/cancel` (issue 14 point 1).
@Suite(.timeLimit(.minutes(5))) struct QueueRoutesTests {
    static let base = "/v1/tenants/springfield"

    @Test func devicesWaitAndARevocationServesTheHeadOfTheQueue() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let added = try await live.send(.POST, Self.base + "/tokens", key: key, body: Array(try world.tokenFile("1002").utf8))
            #expect(added.status == 201)
            let serials = (1...7).map { ServerWorld.serial($0) }
            _ = try await world.engine.registerDevices(tenant: "springfield", serials.map { DeviceInput(serial: SerialNumber($0)!) })

            let assigned = try await live.json(.POST, Self.base + "/assignments", key: key,
                                               ["app": ServerWorld.sharedApp, "serialNumbers": serials, "queue": true])
            #expect(assigned.json["counts"] as? [String: Int] == ["assigned": 5, "queued": 2], "\(assigned.text.prefix(300))")
            let queue = try await live.send(.GET, Self.base + "/queue", key: key)
            let entries = queue.json["queue"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["serialNumber"] as? String } == [serials[5], serials[6]])

            let refused = try await live.json(.POST, Self.base + "/revocations", key: key,
                                              ["app": ServerWorld.sharedApp, "serialNumbers": [serials[0]], "queue": true])
            #expect(refused.status == 400)
            let revoked = try await live.json(.POST, Self.base + "/revocations", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": [serials[0]]])
            #expect(revoked.status == 200)
            let after = try await live.send(.GET, Self.base + "/queue?app=\(ServerWorld.sharedApp)", key: key)
            #expect((after.json["queue"] as? [[String: Any]])?.map { $0["serialNumber"] as? String } == [serials[6]])
            #expect((after.json["queue"] as? [[String: Any]])?.first?["position"] as? Int == 1)

            let cancelled = try await live.json(.POST, Self.base + "/queue/cancel", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": [serials[6]]])
            #expect(cancelled.json["cancelled"] as? [String] == [serials[6]])
            let empty = try await live.send(.GET, Self.base + "/queue", key: key)
            #expect((empty.json["queue"] as? [Any])?.isEmpty == true)
        }
    }
}
