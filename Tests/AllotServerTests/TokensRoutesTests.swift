import Allot
import AllotCore
import AllotServer
import AppleAppsAndBooks
import Foundation
import Testing

/// Token routes against the simulator in-process: upload, list, sync, renew, take over, remove.
@Suite(.timeLimit(.minutes(5))) struct TokensRoutesTests {
    @Test func theWholeLifeOfATokenOverHTTPNeverShowsItsSecret() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let logs = LogCapture()
        let mainFile = try world.tokenFile("1001")
        let labFile = try world.tokenFile("3001")
        var secrets = [ServerWorld.bearer(ofTokenFile: mainFile), ServerWorld.bearer(ofTokenFile: labFile)]
        let (key, answers) = try await withLiveServer(world, logger: logs.logger()) { live in
            var answers: [Reply] = []
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let base = "/v1/tenants/springfield"

            let added = try await live.send(.POST, base + "/tokens?priority=2", key: key, body: Array(mainFile.utf8))
            answers.append(added)
            #expect(added.status == 201, "\(added.text)")
            #expect(added.json["locationUid"] as? String == "1001")
            #expect(added.json["state"] as? String == "active")
            #expect(added.json["priority"] as? Int == 2)
            #expect((added.json["expiresInDays"] as? Int ?? 0) > 0)
            let id = try #require(added.json["id"] as? Int)

            let again = try await live.send(.POST, base + "/tokens", key: key, body: Array(mainFile.utf8))
            answers.append(again)
            #expect(again.status == 409)
            #expect(again.code == "conflict")

            let garbage = try await live.send(.POST, base + "/tokens", key: key, body: Array("not a token".utf8))
            answers.append(garbage)
            #expect(garbage.status == 400)
            #expect(garbage.code == "invalid_input")
            let empty = try await live.send(.POST, base + "/tokens", key: key)
            #expect(empty.status == 400)
            let oversized = try await live.send(.POST, base + "/tokens", key: key, body: [UInt8](repeating: 65, count: ServerLimits.tokenFileBytesMax + 1))
            #expect(oversized.status == 413)
            #expect(oversized.code == "too_large")

            // Claimed by Apple Configurator: refused without takeover, accepted with it.
            let claimed = try await live.send(.POST, base + "/tokens", key: key, body: Array(labFile.utf8))
            answers.append(claimed)
            #expect(claimed.status == 409)
            #expect(claimed.text.contains("Apple Configurator"))
            let takenWithAdd = try await live.send(.POST, base + "/tokens?takeover=true", key: key, body: Array(labFile.utf8))
            answers.append(takenWithAdd)
            #expect(takenWithAdd.status == 201)

            let list = try await live.get(base + "/tokens", key: key)
            answers.append(list)
            #expect(list.status == 200)
            #expect(Set(list.array("tokens").compactMap { $0["locationUid"] as? String }) == ["1001", "3001"])

            let apps = try await live.get(base + "/apps", key: key)
            answers.append(apps)
            let shared = try #require(apps.array("apps").first { $0["adamId"] as? String == "361309726" })
            #expect(shared["total"] as? Int == 14)
            #expect((shared["tokens"] as? [[String: Any]])?.count == 2)

            let synced = try await live.send(.POST, base + "/tokens/\(id)/sync", key: key)
            answers.append(synced)
            #expect(synced.status == 200)
            #expect(synced.array("tokens").count == 1)
            let syncedAll = try await live.send(.POST, base + "/sync", key: key)
            answers.append(syncedAll)
            #expect(syncedAll.array("tokens").count == 2)

            // Renewal: a file for another location is refused, the fresh file for this one accepted.
            let northFile = try world.tokenFile("1002")
            let wrongRenewal = try await live.send(.POST, base + "/tokens/\(id)/renew", key: key, body: Array(northFile.utf8))
            answers.append(wrongRenewal)
            #expect(wrongRenewal.status == 409)
            #expect(wrongRenewal.text.contains("1002"))
            let fresh = try await world.renewedTokenFile("1001")
            let renewed = try await live.send(.POST, base + "/tokens/\(id)/renew", key: key, body: Array(fresh.utf8))
            answers.append(renewed)
            #expect(renewed.status == 200, "\(renewed.text)")
            #expect(renewed.json["state"] as? String == "active")

            // Another server claims Main; take it back.
            try await world.simulator.claim(location: "1001", mdmInfo: .init(id: "other", name: "Other MDM", metadata: ""))
            let takeover = try await live.send(.POST, base + "/tokens/\(id)/takeover?cleanUp=true", key: key)
            answers.append(takeover)
            #expect(takeover.status == 200, "\(takeover.text)")
            #expect(takeover.json["previousOwner"] as? String == "Other MDM")

            // Assign then remove: the devices that lose the app are reported.
            _ = try await live.json(.POST, base + "/devices", key: key, ["devices": [["serialNumber": ServerWorld.serial(1)]]])
            let assigned = try await live.json(.POST, base + "/assignments", key: key, ["app": ServerWorld.mainOnlyApp, "serialNumbers": [ServerWorld.serial(1)]])
            #expect(assigned.json["counts"] as? [String: Int] == ["assigned": 1])
            let removed = try await live.send(.DELETE, base + "/tokens/\(id)", key: key)
            answers.append(removed)
            #expect(removed.status == 200)
            #expect(removed.json["revoked"] as? Int == 1)
            #expect(removed.json["devices"] as? [String] == [ServerWorld.serial(1)])
            let removedAgain = try await live.send(.DELETE, base + "/tokens/\(id)", key: key)
            #expect(removedAgain.status == 409)
            let unknown = try await live.send(.DELETE, base + "/tokens/999", key: key)
            #expect(unknown.status == 404)

            let events = try await live.get(base + "/events?limit=100", key: key)
            answers.append(events)
            #expect(events.array("events").contains { $0["kind"] as? String == "token_taken_over" })
            #expect(events.json["eventsOmitted"] as? Int == 0)
            // The renewal's moment: seconds as recorded, and beside them the same in RFC 3339.
            let renewal = try #require(events.array("events").first { $0["kind"] as? String == "token_renewed" }?["detail"] as? [String: Any])
            let renewedAt = try #require(ISO8601DateFormatter().date(from: renewal["expiresAtTime"] as? String ?? ""), "\(renewal)")
            #expect(Int(renewedAt.timeIntervalSince1970) == renewal["expiresAt"] as? Int)
            let newest = try await live.get(base + "/events?limit=1", key: key)
            answers.append(newest)
            #expect(newest.array("events").count == 1)
            #expect(newest.json["eventsOmitted"] as? Int == events.array("events").count - 1)
            return (key, answers)
        }
        secrets.append(ServerWorld.bearer(ofTokenFile: try world.tokenFile("1001")))
        for secret in secrets {
            for answer in answers { #expect(!answer.text.contains(secret)) }
            #expect(!logs.text.contains(secret))
        }
        #expect(!logs.text.contains(key))
        #expect(!logs.text.isEmpty)
    }

    @Test func addingATokenWithoutAppleIsAClearRefusal() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let ledgerOnly = try Allot(databasePath: world.folder.appendingPathComponent("ledger-only.sqlite").path)
        try await withLiveServer(world, engine: ledgerOnly) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let reply = try await live.send(.POST, "/v1/tenants/springfield/tokens", key: key, body: Array(try world.tokenFile("1001").utf8))
            #expect(reply.status == 400)
            #expect(reply.code == "invalid_input")
        }
    }
}
