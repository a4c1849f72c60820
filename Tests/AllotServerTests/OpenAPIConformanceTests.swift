import Allot
import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// The real answers of every route, checked against openapi.yaml's schemas: a field renamed,
/// dropped, added without a word in the document, or a status the document does not list,
/// fails here. One request (or more) per documented operation, against a live server.
@Suite(.timeLimit(.minutes(5))) struct OpenAPIConformanceTests {
    /// What one call got, with the documented path it exercised.
    struct Exchange {
        let method: HTTPMethod
        let template: String
        let reply: Reply
    }

    final class Recorder: @unchecked Sendable {
        // Used from one test task only, in order.
        var exchanges: [Exchange] = []
        let live: Live
        init(_ live: Live) { self.live = live }

        @discardableResult
        func call(_ method: HTTPMethod, _ template: String, _ path: String, key: String?, body: [UInt8]? = nil,
                  json: Any? = nil, expect status: Int) async throws -> Reply {
            let reply = if let json {
                try await live.json(method, path, key: key, json)
            } else {
                try await live.send(method, path, key: key, body: body)
            }
            #expect(reply.status == status, "\(method) \(path): \(reply.status) \(reply.text)")
            exchanges.append(Exchange(method: method, template: template, reply: reply))
            return reply
        }
    }

    @Test func everyRouteAnswersWhatTheDocumentPromises() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let spec = try OpenAPISpec()
        let mainFile = try world.tokenFile("1001")
        let northFile = try world.tokenFile("1002")
        let labFile = try world.tokenFile("3001")
        let exchanges = try await withLiveServer(world) { live in
            let r = Recorder(live)
            let admin = world.adminKey
            try await r.call(.GET, "/healthz", "/healthz", key: nil, expect: 200)
            try await r.call(.GET, "/metrics", "/metrics", key: nil, expect: 200)
            let document = try await r.call(.GET, "/openapi.yaml", "/openapi.yaml", key: nil, expect: 200)
            #expect(document.body == Array(try Data(contentsOf: OpenAPISpec.file)), "the served document is the repository's")

            try await r.call(.GET, "/v1/tenants", "/v1/tenants", key: nil, expect: 401)
            let created = try await r.call(.POST, "/v1/tenants", "/v1/tenants", key: admin, json: ["slug": "springfield", "name": "Springfield"], expect: 201)
            try await r.call(.POST, "/v1/tenants", "/v1/tenants", key: admin, json: ["slug": "springfield"], expect: 409)
            try await r.call(.GET, "/v1/tenants", "/v1/tenants", key: admin, expect: 200)
            _ = created
            let rotated = try await r.call(.POST, "/v1/tenants/{slug}/api-key", "/v1/tenants/springfield/api-key", key: admin, expect: 200)
            let key = try #require(rotated.json["apiKey"] as? String)
            let base = "/v1/tenants/springfield"
            try await r.call(.GET, "/v1/tenants/{slug}", base, key: key, expect: 200)

            let tokens = "/v1/tenants/{slug}/tokens"
            try await r.call(.POST, tokens, base + "/tokens?dryRun=true", key: key, body: Array(mainFile.utf8), expect: 200)
            try await r.call(.POST, tokens, base + "/tokens?dryRun=true", key: key, body: Array(labFile.utf8), expect: 200)
            let main = try await r.call(.POST, tokens, base + "/tokens", key: key, body: Array(mainFile.utf8), expect: 201)
            let north = try await r.call(.POST, tokens, base + "/tokens?priority=1", key: key, body: Array(northFile.utf8), expect: 201)
            try await r.call(.POST, tokens, base + "/tokens", key: key, body: Array(labFile.utf8), expect: 409)
            try await r.call(.POST, tokens, base + "/tokens", key: key, body: Array("not a token".utf8), expect: 400)
            let lab = try await r.call(.POST, tokens, base + "/tokens?takeover=true", key: key, body: Array(labFile.utf8), expect: 201)
            try await r.call(.GET, tokens, base + "/tokens", key: key, expect: 200)
            let mainId = try #require(main.json["id"] as? Int), northId = try #require(north.json["id"] as? Int)
            let labId = try #require(lab.json["id"] as? Int)

            let renewed = try await world.renewedTokenFile("1001")
            let renew = "/v1/tenants/{slug}/tokens/{token}/renew"
            try await r.call(.POST, renew, base + "/tokens/\(mainId)/renew?dryRun=true", key: key, body: Array(renewed.utf8), expect: 200)
            try await r.call(.POST, renew, base + "/tokens/\(northId)/renew", key: key, body: Array(renewed.utf8), expect: 409)
            try await r.call(.POST, renew, base + "/tokens/\(mainId)/renew", key: key, body: Array(renewed.utf8), expect: 200)

            let devices = "/v1/tenants/{slug}/devices"
            try await r.call(.POST, devices, base + "/devices", key: key,
                             json: ["devices": [["serialNumber": "SPR00000001", "name": "Cart 1"], ["serialNumber": "SPR00000002"], ["serialNumber": "x"]]],
                             expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/devices/import", base + "/devices/import", key: key,
                             body: Array("serial_number,name,model,group\nSPR00000003,Lab 3,iPad,lab\nSPR00000004,,,lab\n".utf8), expect: 200)
            try await r.call(.GET, devices, base + "/devices", key: key, expect: 200)
            try await r.call(.GET, devices, base + "/devices?group=lab", key: key, expect: 200)

            let users = "/v1/tenants/{slug}/users"
            try await r.call(.POST, users, base + "/users", key: key,
                             json: ["users": [["userId": "ann", "email": "ann@school.example", "group": "teachers"], ["userId": "ben"], ["userId": " "]]],
                             expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/users/import", base + "/users/import", key: key,
                             body: Array("User ID,Email Address,Managed Apple Account,Group\ncid,cid@school.example,,teachers\n,x@y.z,,\n".utf8), expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/users/import", base + "/users/import", key: key, body: Array("email\nx@y.z\n".utf8), expect: 400)
            try await r.call(.GET, users, base + "/users", key: key, expect: 200)
            try await r.call(.GET, users, base + "/users?group=teachers", key: key, expect: 200)
            let userAssignments = "/v1/tenants/{slug}/user-assignments", userRevocations = "/v1/tenants/{slug}/user-revocations"
            try await r.call(.POST, userAssignments, base + "/user-assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "userGroup": "teachers", "mode": "dry-run"], expect: 200)
            try await r.call(.POST, userAssignments, base + "/user-assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "userIds": ["ann", "zed"]], expect: 200)
            try await r.call(.POST, userAssignments, base + "/user-assignments", key: key,
                             json: ["items": [["app": ServerWorld.mainOnlyApp, "userId": "ben"]], "mode": "all-or-nothing"], expect: 200)
            try await r.call(.POST, userAssignments, base + "/user-assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "userGroup": "nobody"], expect: 404)
            try await r.call(.POST, userAssignments, base + "/user-assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "userIds": ["ann"], "userGroup": "teachers"], expect: 400)
            try await r.call(.POST, userRevocations, base + "/user-revocations", key: key,
                             json: ["app": ServerWorld.mainOnlyApp, "userIds": ["ben"]], expect: 200)
            try await r.call(.GET, "/v1/tenants/{slug}/users/{userId}", base + "/users/ann", key: key, expect: 200)
            try await r.call(.GET, "/v1/tenants/{slug}/users/{userId}", base + "/users/zed", key: key, expect: 404)
            try await r.call(.POST, "/v1/tenants/{slug}/users/retire", base + "/users/retire", key: key, json: ["userIds": ["cid"]], expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/users/retire", base + "/users/retire", key: key, json: ["userIds": ["zed"]], expect: 404)

            let assignments = "/v1/tenants/{slug}/assignments", revocations = "/v1/tenants/{slug}/revocations"
            try await r.call(.POST, assignments, base + "/assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000001", "SPR00000002", "NOPE0000001"], "mode": "dry-run"], expect: 200)
            try await r.call(.POST, assignments, base + "/assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000001", "SPR00000002", "NOPE0000001"]], expect: 200)
            try await r.call(.POST, assignments, base + "/assignments", key: key, json: ["app": ServerWorld.mainOnlyApp, "group": "lab"], expect: 200)
            try await r.call(.POST, assignments, base + "/assignments", key: key,
                             json: ["items": [["app": ServerWorld.mainOnlyApp, "serialNumber": "SPR00000001"]]], expect: 200)
            try await r.call(.POST, assignments, base + "/assignments", key: key, json: ["app": "nonsense!", "allDevices": true], expect: 400)
            try await r.call(.POST, revocations, base + "/revocations", key: key, json: ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000002"]], expect: 200)
            try await r.call(.POST, assignments, base + "/assignments", key: key,
                             json: ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000003", "SPR00000004"], "queue": true], expect: 200)
            let queue = "/v1/tenants/{slug}/queue", cancel = "/v1/tenants/{slug}/queue/cancel"
            try await r.call(.GET, queue, base + "/queue", key: key, expect: 200)
            try await r.call(.GET, queue, base + "/queue?app=\(ServerWorld.sharedApp)", key: key, expect: 200)
            try await r.call(.GET, queue, base + "/queue?app=nonsense!", key: key, expect: 400)
            try await r.call(.POST, cancel, base + "/queue/cancel", key: key, json: ["app": ServerWorld.sharedApp, "serialNumbers": ["SPR00000004"]], expect: 200)
            try await r.call(.POST, cancel, base + "/queue/cancel", key: key, json: ["app": "1", "serialNumbers": ["SPR00000004"]], expect: 404)

            try await r.call(.GET, "/v1/tenants/{slug}/apps", base + "/apps", key: key, expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/push", base + "/push", key: key, expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/tokens/{token}/sync", base + "/tokens/\(mainId)/sync", key: key, expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/sync", base + "/sync", key: key, expect: 200)
            let optIn = "/v1/tenants/{slug}/tokens/{token}/subscriptions/enable", optOut = "/v1/tenants/{slug}/tokens/{token}/subscriptions/disable"
            try await r.call(.POST, optIn, base + "/tokens/\(mainId)/subscriptions/enable", key: key, expect: 200)
            try await r.call(.POST, optIn, base + "/tokens/999/subscriptions/enable", key: key, expect: 404)
            try await world.simulator.setSubscriptionSeats(location: "1001", adamId: 1_500_000_001, parentAdamId: 54321, renewing: 2, expiring: 1,
                                                           periodEnd: "2027-01-15")
            try await r.call(.POST, "/v1/tenants/{slug}/tokens/{token}/sync", base + "/tokens/\(mainId)/sync", key: key, expect: 200)
            let seats = try await r.call(.GET, "/v1/tenants/{slug}/subscriptions", base + "/subscriptions", key: key, expect: 200)
            #expect((seats.json["subscriptions"] as? [Any])?.count == 1)
            try await r.call(.POST, optIn, base + "/tokens/\(northId)/subscriptions/enable", key: key, expect: 200)
            try await r.call(.POST, optOut, base + "/tokens/\(northId)/subscriptions/disable", key: key, expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/tokens/{token}/takeover", base + "/tokens/\(labId)/takeover?cleanUp=true", key: key, expect: 200)
            try await r.call(.POST, "/v1/tenants/{slug}/devices/retire", base + "/devices/retire", key: key, json: ["serialNumbers": ["SPR00000003"]], expect: 200)
            try await r.call(.DELETE, "/v1/tenants/{slug}/tokens/{token}", base + "/tokens/\(northId)", key: key, expect: 200)
            try await r.call(.DELETE, "/v1/tenants/{slug}/tokens/{token}", base + "/tokens/999", key: key, expect: 404)
            try await r.call(.GET, "/v1/tenants/{slug}/events", base + "/events?limit=20", key: key, expect: 200)
            try await r.call(.GET, "/v1/tenants/{slug}/events", base + "/events?limit=0", key: key, expect: 400)
            // Apple's notifications: without the token's bearer, refused (the 200s are in NotificationReceiverTests).
            try await r.call(.POST, "/apple/notifications/{token}", "/apple/notifications/\(mainId)", key: nil,
                             json: ["notificationType": "TEST_NOTIFICATION", "notificationId": "n1", "uId": "1001", "notification": [String: String]()],
                             expect: 401)

            let webhooks = "/v1/tenants/{slug}/webhooks"
            let hook = try await r.call(.POST, webhooks, base + "/webhooks", key: key, json: ["url": "https://mdm.example.invalid/allot-events"], expect: 201)
            try await r.call(.POST, webhooks, base + "/webhooks", key: key, json: ["url": "https://mdm.example.invalid/allot-events"], expect: 409)
            try await r.call(.POST, webhooks, base + "/webhooks", key: key, json: ["url": "ftp://mdm.example.invalid/"], expect: 400)
            try await r.call(.GET, webhooks, base + "/webhooks", key: key, expect: 200)
            let hookId = try #require((hook.json["webhook"] as? [String: Any])?["id"] as? Int)
            try await r.call(.DELETE, "/v1/tenants/{slug}/webhooks/{webhook}", base + "/webhooks/\(hookId)", key: key, expect: 200)
            try await r.call(.DELETE, "/v1/tenants/{slug}/webhooks/{webhook}", base + "/webhooks/\(hookId)", key: key, expect: 404)
            return r.exchanges
        }

        var problems: [String] = []
        for exchange in exchanges {
            let name = "\(exchange.method.rawValue) \(exchange.template) → \(exchange.reply.status)"
            let response = try spec.response(exchange.method.rawValue, exchange.template, status: exchange.reply.status)
            guard response.documented else {
                problems.append("\(name): the status is not documented")
                continue
            }
            guard let schema = response.jsonSchema else { continue }
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(exchange.reply.body))
            problems += try spec.problems(value, schema).map { "\(name): \($0)" }
        }
        #expect(problems.isEmpty, "\(problems.count) answers disagree with openapi.yaml:\n\(problems.joined(separator: "\n"))")

        let exercised = Set(exchanges.map { "\($0.method.rawValue) \($0.template)" })
        #expect(spec.operations.subtracting(exercised).isEmpty, "operations this test never calls: \(spec.operations.subtracting(exercised).sorted())")
    }

    @Test func aKnownPathWithAWrongMethodIs405WithTheMethodsItTakes() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let spec = try OpenAPISpec()
        let errorSchema = try spec.resolve(["$ref": "#/components/schemas/Error"])
        let body = try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let wrong = try await live.send(.PUT, "/v1/tenants/springfield/tokens", key: key)
            #expect(wrong.status == 405)
            #expect(wrong.code == "method_not_allowed")
            #expect(wrong.headers.first { $0.0.lowercased() == "allow" }?.1 == "GET, POST")
            let health = try await live.send(.DELETE, "/healthz", key: nil)
            #expect(health.status == 405)
            let unknown = try await live.send(.GET, "/v1/nothing-here", key: key)
            #expect(unknown.status == 404)
            #expect(unknown.code == "not_found")
            return wrong.body
        }
        #expect(try spec.problems(JSONDecoder().decode(JSONValue.self, from: Data(body)), errorSchema).isEmpty)
    }

    @Test func everyOperationHasAnIdAndDeclaredTags() throws {
        let spec = try OpenAPISpec()
        let declared = Set((spec.root["tags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        var ids: [String] = []
        for operation in spec.operations.sorted() {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            let node = try #require(spec.operation(parts[0], parts[1]))
            let id = node["operationId"] as? String
            #expect(id?.isEmpty == false, "\(operation) has no operationId")
            ids.append(id ?? "")
            let tags = node["tags"] as? [String] ?? []
            #expect(!tags.isEmpty, "\(operation) has no tags")
            #expect(Set(tags).isSubset(of: declared), "\(operation) uses undeclared tags \(tags)")
        }
        #expect(Set(ids).count == ids.count, "operationIds repeat: \(ids.sorted())")
    }
}
