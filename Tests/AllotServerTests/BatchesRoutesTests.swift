import Allot
import AllotCore
import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// Devices and batches over HTTP: registration, rosters, selectors, modes, idempotent retries,
/// concurrency, limits.
@Suite(.timeLimit(.minutes(5))) struct BatchesRoutesTests {
    static let base = "/v1/tenants/springfield"

    /// A tenant with Main and North added (shared app: 10 + 5 licences) and `devices` devices.
    func prepared(_ live: Live, _ world: ServerWorld, devices: Int) async throws -> String {
        let key = try await live.createTenant("springfield", adminKey: world.adminKey)
        for uId in ["1001", "1002"] {
            let added = try await live.send(.POST, Self.base + "/tokens", key: key, body: Array(try world.tokenFile(uId).utf8))
            guard added.status == 201 else { throw TestFailure("adding \(uId): \(added.text)") }
        }
        let list = (1...devices).map { ["serialNumber": ServerWorld.serial($0), "group": $0 % 2 == 0 ? "even" : "odd"] }
        let registered = try await live.json(.POST, Self.base + "/devices", key: key, ["devices": list])
        guard registered.json["imported"] as? Int == devices else { throw TestFailure("registering: \(registered.text)") }
        return key
    }

    @Test func devicesAreRegisteredImportedListedAndRetired() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let registered = try await live.json(.POST, Self.base + "/devices", key: key, ["devices": [
                ["serialNumber": ServerWorld.serial(1), "name": "iPad 1", "group": "year-7"],
                ["serialNumber": "bad serial!"],
                ["serialNumber": ServerWorld.serial(2)],
            ]])
            #expect(registered.status == 200)
            #expect(registered.json["imported"] as? Int == 2)
            let rejected = registered.array("rejected")
            #expect(rejected.count == 1)
            #expect(rejected.first?["line"] as? Int == 2)

            let csv = "serial_number,name,group\n\(ServerWorld.serial(2)),iPad 2,year-8\n\(ServerWorld.serial(3)),iPad 3,year-8\nnope,x,y\n"
            let imported = try await live.send(.POST, Self.base + "/devices/import", key: key, body: Array(csv.utf8), headers: [("Content-Type", "text/csv")])
            #expect(imported.status == 200, "\(imported.text)")
            #expect(imported.json["imported"] as? Int == 1)
            #expect(imported.json["updated"] as? Int == 1)
            #expect(imported.array("rejected").first?["line"] as? Int == 4)
            let noHeader = try await live.send(.POST, Self.base + "/devices/import", key: key, body: Array("a,b\n".utf8))
            #expect(noHeader.status == 400)
            #expect(noHeader.code == "invalid_input")
            let emptyCSV = try await live.send(.POST, Self.base + "/devices/import", key: key)
            #expect(emptyCSV.status == 400)

            let all = try await live.get(Self.base + "/devices", key: key)
            #expect(all.array("devices").count == 3)
            let year8 = try await live.get(Self.base + "/devices?group=year-8", key: key)
            #expect(year8.array("devices").compactMap { $0["serialNumber"] as? String } == [ServerWorld.serial(2), ServerWorld.serial(3)])

            let retired = try await live.json(.POST, Self.base + "/devices/retire", key: key, ["serialNumbers": [ServerWorld.serial(3)]])
            #expect(retired.status == 200, "\(retired.text)")
            #expect(retired.json["revoked"] as? Int == 0)
            let after = try await live.get(Self.base + "/devices?group=year-8", key: key)
            #expect(after.array("devices").first { $0["serialNumber"] as? String == ServerWorld.serial(3) }?["retired"] as? Bool == true)

            let notJSON = try await live.send(.POST, Self.base + "/devices", key: key, body: Array("{nope".utf8))
            #expect(notJSON.status == 400)
            #expect(notJSON.code == "invalid_input")
            let wrongShape = try await live.json(.POST, Self.base + "/devices", key: key, ["serials": []])
            #expect(wrongShape.status == 400)
            #expect((wrongShape.json["message"] as? String)?.contains("devices") == true)
        }
    }

    @Test func assignAndRevokeBatchesMirrorTheCLIContract() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await prepared(live, world, devices: 20)
            let serials = (1...4).map { ServerWorld.serial($0) } + ["bad!", "ZZZ00000999"]
            let dryRun = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": serials, "mode": "dry-run"])
            #expect(dryRun.status == 200)
            #expect(dryRun.json["committed"] as? Bool == false)
            #expect(dryRun.json["batchId"] is NSNull, "batchId is present and null when nothing was committed")
            #expect(dryRun.json["counts"] as? [String: Int] == ["assigned": 4, "invalid_serial": 1, "unknown_device": 1])
            let untouched = try await live.get(Self.base + "/apps", key: key)
            #expect(untouched.array("apps").first { $0["adamId"] as? String == "361309726" }?["assigned"] as? Int == 0)

            let allOrNothing = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": serials, "mode": "all-or-nothing"])
            #expect(allOrNothing.status == 200)
            #expect(allOrNothing.json["committed"] as? Bool == false)

            let partial = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": serials])
            #expect(partial.json["committed"] as? Bool == true)
            #expect(partial.json["batchId"] as? Int != nil)
            let items = partial.array("items")
            #expect(items.count == 6)
            #expect(items.map { $0["serialNumber"] as? String } == serials.map { $0 as String? })
            #expect(items[0]["result"] as? String == "assigned")
            #expect(items[0]["tokenId"] as? Int != nil)
            #expect(items[4]["result"] as? String == "invalid_serial")
            #expect(items[4]["reason"] as? String != nil)

            let byGroup = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "group": "even"])
            #expect(byGroup.json["counts"] as? [String: Int] == ["already_assigned": 2, "assigned": 8])
            let everyone = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "allDevices": true])
            #expect(everyone.json["counts"] as? [String: Int] == ["already_assigned": 12, "assigned": 3, "no_license": 5])

            let apps = try await live.get(Self.base + "/apps", key: key)
            let pool = try #require(apps.array("apps").first { $0["adamId"] as? String == "361309726" })
            #expect(pool["total"] as? Int == 15)
            #expect(pool["assigned"] as? Int == 15)
            #expect(pool["available"] as? Int == 0)

            let mixed = try await live.json(.POST, Self.base + "/revocations", key: key, ["items": [
                ["app": ServerWorld.sharedApp, "serialNumber": ServerWorld.serial(1)],
                ["app": ServerWorld.mainOnlyApp, "serialNumber": ServerWorld.serial(1)],
            ]])
            #expect(mixed.status == 200)
            #expect(mixed.json["counts"] as? [String: Int] == ["revoked": 1, "not_assigned": 1])

            let pushed = try await live.send(.POST, Self.base + "/push", key: key)
            #expect(pushed.status == 200)
            #expect(pushed.json["failed"] as? Int == 0)
            #expect(try await world.simulator.allAssignments().count == 14)

            let events = try await live.get(Self.base + "/events?kind=assign_batch&limit=2", key: key)
            #expect(events.status == 200)
            #expect(events.array("events").count == 2)
            #expect(events.array("events").allSatisfy { $0["kind"] as? String == "assign_batch" && $0["detail"] is [String: Any] && $0["at"] is String })
            let badLimit = try await live.get(Self.base + "/events?limit=0", key: key)
            #expect(badLimit.status == 400)
            let notNumber = try await live.get(Self.base + "/events?limit=many", key: key)
            #expect(notNumber.status == 400)
        }
    }

    @Test func malformedBatchesAreRefusedWithAReason() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await prepared(live, world, devices: 2)
            let cases: [[String: Any]] = [
                ["serialNumbers": [ServerWorld.serial(1)]],
                ["app": "not-an-app", "serialNumbers": [ServerWorld.serial(1)]],
                ["app": ServerWorld.sharedApp],
                ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)], "group": "odd"],
                ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)], "mode": "maybe"],
                ["app": ServerWorld.sharedApp, "items": [["app": ServerWorld.sharedApp, "serialNumber": ServerWorld.serial(1)]]],
            ]
            for body in cases {
                let reply = try await live.json(.POST, Self.base + "/assignments", key: key, body)
                #expect(reply.status == 400, "\(body) answered \(reply.status)")
                #expect(reply.code == "invalid_input")
                #expect((reply.json["message"] as? String)?.isEmpty == false)
            }
            let longKey = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "allDevices": true],
                                              headers: [("Idempotency-Key", String(repeating: "k", count: 500))])
            #expect(longKey.status == 400)
        }
    }

    @Test func oversizedBodiesAndBatchesAnswer413() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let tooMany = (0...BatchLimits.itemsMax).map { ServerWorld.serial($0) }
            let batch = try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": tooMany])
            #expect(batch.status == 413)
            #expect(batch.code == "too_large")
            let devices = try await live.json(.POST, Self.base + "/devices", key: key, ["devices": tooMany.map { ["serialNumber": $0] }])
            #expect(devices.status == 413)

            var huge = Array("serial_number\n".utf8)
            huge += [UInt8](repeating: 65, count: ServerLimits.requestBodyBytesMax)
            let body = try await live.send(.POST, Self.base + "/devices/import", key: key, body: huge)
            #expect(body.status == 413)
            #expect(body.code == "too_large")
            // The server is still there.
            #expect(try await live.get("/healthz", key: nil).status == 200)
        }
    }

    @Test func aRetriedBatchWithItsIdempotencyKeyIsAnsweredOnceAndSpendsNothingMore() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await prepared(live, world, devices: 6)
            @Sendable func body() -> [String: Any] { ["app": ServerWorld.mainOnlyApp, "serialNumbers": (1...6).map { ServerWorld.serial($0) }] }
            let header = [("Idempotency-Key", "order-42")]
            let first = try await live.json(.POST, Self.base + "/assignments", key: key, body(), headers: header)
            #expect(first.json["counts"] as? [String: Int] == ["assigned": 3, "no_license": 3])
            // Retries, some concurrent, as a client that lost the answer would send them.
            let retries = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<4 { group.addTask { try await live.json(.POST, Self.base + "/assignments", key: key, body(), headers: header) } }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            for retry in retries {
                #expect(retry.status == 200)
                #expect(retry.json["batchId"] as? Int == first.json["batchId"] as? Int)
                #expect(retry.json["counts"] as? [String: Int] == ["assigned": 3, "no_license": 3])
            }
            let apps = try await live.get(Self.base + "/apps", key: key)
            #expect(apps.array("apps").first { $0["adamId"] as? String == "409183694" }?["assigned"] as? Int == 3)
            // Another key is another batch.
            let other = try await live.json(.POST, Self.base + "/assignments", key: key, body(), headers: [("Idempotency-Key", "order-43")])
            #expect(other.json["batchId"] as? Int != first.json["batchId"] as? Int)
            #expect(other.json["counts"] as? [String: Int] == ["already_assigned": 3, "no_license": 3])
        }
    }

    /// An idempotency key is bound to the request it answered: the same key with another body,
    /// or on the other route, is refused with 422 and changes nothing; the first request sent
    /// again still reads its answer.
    @Test func anIdempotencyKeyReusedForAnotherRequestIsRefusedNotReplayed() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let key = try await prepared(live, world, devices: 4)
            let header = [("Idempotency-Key", "order-7")]
            let first = try await live.json(.POST, Self.base + "/assignments", key: key,
                                            ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)]], headers: header)
            #expect(first.status == 200)
            let otherBody = try await live.json(.POST, Self.base + "/assignments", key: key,
                                                ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(2)]], headers: header)
            #expect(otherBody.status == 422)
            #expect(otherBody.code == "idempotency_key_reused")
            #expect((otherBody.json["message"] as? String)?.contains("order-7") == true)
            let otherRoute = try await live.json(.POST, Self.base + "/revocations", key: key,
                                                 ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)]], headers: header)
            #expect(otherRoute.status == 422)
            #expect(otherRoute.code == "idempotency_key_reused")
            // Nothing changed: device 2 holds nothing, device 1 still holds its licence.
            let apps = try await live.get(Self.base + "/apps", key: key)
            #expect(apps.array("apps").first { $0["adamId"] as? String == "361309726" }?["assigned"] as? Int == 1)
            let again = try await live.json(.POST, Self.base + "/assignments", key: key,
                                            ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)]], headers: header)
            #expect(again.status == 200)
            #expect(again.json["batchId"] as? Int == first.json["batchId"] as? Int)
        }
    }

    /// Many clients, each with its own devices, race for the same 15 licences.
    @Test func concurrentBatchesFromManyClientsNeverOverAllocate() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let clients = 12, perClient = 10
            let key = try await prepared(live, world, devices: clients * perClient)
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for client in 0..<clients {
                    let serials = (1...perClient).map { ServerWorld.serial(client * perClient + $0) }
                    group.addTask {
                        try await live.json(.POST, Self.base + "/assignments", key: key, ["app": ServerWorld.sharedApp, "serialNumbers": serials])
                    }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            var assigned = 0
            for reply in replies {
                #expect(reply.status == 200)
                assigned += (reply.json["counts"] as? [String: Int])?["assigned"] ?? 0
            }
            #expect(assigned == 15)
            let apps = try await live.get(Self.base + "/apps", key: key)
            let pool = try #require(apps.array("apps").first { $0["adamId"] as? String == "361309726" })
            #expect(pool["assigned"] as? Int == 15)
            for share in pool["tokens"] as? [[String: Any]] ?? [] {
                #expect((share["assigned"] as? Int ?? 0) <= (share["total"] as? Int ?? 0))
            }
            #expect(try await world.engine.ledgerAssignmentsForTests(tenant: "springfield").count == 15)
        }
    }
}
