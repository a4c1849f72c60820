import Allot
import AllotStore
import AllotCore
import AllotServer
import Foundation
import Testing

/// The HTTP selectors `group` and `allDevices` take a tenant of any size (issue 16.1): in chunks
/// of `RollOutLimits.chunkItemsDefault`, each committed whole, one answer with the counts summed.
@Suite(.timeLimit(.minutes(5))) struct RollOutRoutesTests {
    static let base = "/v1/tenants/springfield"

    @Test func allDevicesOverMoreThanOneChunkCommitsChunkByChunkAndAnswersOnce() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            for uId in ["1001", "1002"] {
                let added = try await live.send(.POST, Self.base + "/tokens", key: key, body: Array(try world.tokenFile(uId).utf8))
                #expect(added.status == 201)
            }
            // One device more than a chunk, registered through the engine (the HTTP registration
            // route is tested elsewhere).
            let count = RollOutLimits.chunkItemsDefault + 1
            let devices = (1...count).map { DeviceInput(serial: SerialNumber(ServerWorld.serial($0))!, name: nil, model: nil, group: nil) }
            _ = try await world.engine.registerDevices(tenant: "springfield", devices)

            let reply = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "allDevices": true])
            #expect(reply.status == 200, "\(reply.text.prefix(300))")
            #expect(reply.json["counts"] as? [String: Int] == ["assigned": 15, "no_license": count - 15])
            #expect((reply.json["batchIds"] as? [Int])?.count == 2, "two chunks, two batches")
            #expect(reply.json["total"] as? Int == count)
            #expect(reply.json["interrupted"] as? Bool == false)
            #expect((reply.json["items"] as? [Any])?.count == count)

            let dry = try await live.json(.POST, Self.base + "/revocations", key: key, ["app": ServerWorld.sharedApp, "allDevices": true, "mode": "dry-run"])
            #expect(dry.json["counts"] as? [String: Int] == ["revoked": 15, "not_assigned": count - 15])
            #expect(dry.json["batchId"] is NSNull)
            let pools = try await world.engine.apps(tenant: "springfield")
            #expect(pools.first { $0.adamId == "361309726" }?.assigned == 15, "the dry run changed nothing")
        }
    }

    @Test func aGroupNoDeviceIsInIsNotFoundAndAGroupOfRetiredDevicesIsEmpty() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let added = try await live.send(.POST, Self.base + "/tokens", key: key, body: Array(try world.tokenFile("1001").utf8))
            #expect(added.status == 201)
            let registered = try await live.json(.POST, Self.base + "/devices", key: key, ["devices": [
                ["serialNumber": ServerWorld.serial(1), "group": "lab"], ["serialNumber": ServerWorld.serial(2), "group": "old-lab"]]])
            #expect(registered.status == 200, "\(registered.text)")
            let retired = try await live.json(.POST, Self.base + "/devices/retire", key: key, ["serialNumbers": [ServerWorld.serial(2)]])
            #expect(retired.status == 200, "\(retired.text)")
            let eventsBefore = try await live.get(Self.base + "/events?limit=1000", key: key).array("events").count

            for route in ["/assignments", "/revocations"] {
                let misspelt = try await live.json(.POST, Self.base + route, key: key, ["app": ServerWorld.sharedApp, "group": "labb"])
                #expect(misspelt.status == 404, "\(route): \(misspelt.text)")
                #expect(misspelt.code == "not_found")
                #expect((misspelt.json["message"] as? String ?? "").contains("there is no group 'labb'"), "\(misspelt.text)")

                let emptied = try await live.json(.POST, Self.base + route, key: key, ["app": ServerWorld.sharedApp, "group": "old-lab"])
                #expect(emptied.status == 400, "\(route): \(emptied.text)")
                #expect(emptied.code == "invalid_input")
                #expect((emptied.json["message"] as? String ?? "").contains("'old-lab' has no managed devices"), "\(emptied.text)")

                let unnamed = try await live.json(.POST, Self.base + route, key: key, ["app": ServerWorld.sharedApp, "group": ""])
                #expect(unnamed.status == 400, "\(route): \(unnamed.text)")
            }
            let eventsAfter = try await live.get(Self.base + "/events?limit=1000", key: key).array("events").count
            #expect(eventsAfter == eventsBefore, "a refused batch recorded an event")
            let pools = try await world.engine.apps(tenant: "springfield")
            #expect(pools.allSatisfy { $0.assigned == 0 }, "a refused batch assigned a licence")
        }
    }
}
