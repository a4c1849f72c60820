import Allot
import AllotStore
import AllotCore
import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// Keys, refusals and tenant isolation over real HTTP.
@Suite(.timeLimit(.minutes(5))) struct AccessTests {
    @Test func healthzAnswersWithoutAKey() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let reply = try await live.get("/healthz", key: nil)
            #expect(reply.status == 200)
            #expect(reply.json["status"] as? String == "ok")
        }
    }

    @Test func unknownRoutesAnswerJSONNotFound() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let reply = try await live.get("/v2/nothing", key: nil)
            #expect(reply.status == 404)
            #expect(reply.code == "not_found")
            #expect((reply.json["message"] as? String)?.isEmpty == false)
        }
    }

    @Test func adminCreatesTenantsAndTheKeyIsShownOnceAndStoredAsAHash() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let created = try await live.json(.POST, "/v1/tenants", key: world.adminKey, ["slug": "springfield", "name": "Springfield", "policy": "latest-expiry"])
            #expect(created.status == 201)
            let key = try #require(created.json["apiKey"] as? String)
            #expect(key.hasPrefix("allot_"))
            #expect(key.count >= 40)
            #expect(created.json["policy"] as? String == "latest-expiry")

            let list = try await live.get("/v1/tenants", key: world.adminKey)
            #expect(list.status == 200)
            #expect(list.array("tenants").map { $0["slug"] as? String } == ["springfield"])
            #expect(!list.text.contains(key))

            let me = try await live.get("/v1/tenants/springfield", key: key)
            #expect(me.status == 200)
            #expect(me.json["name"] as? String == "Springfield")

            // Only the hash is stored.
            let ledger = try Ledger(path: world.databasePath)
            let tenant = try #require(try ledger.tenant(slug: "springfield"))
            let stored = try #require(try ledger.apiKeyHash(tenant: tenant.id))
            #expect(stored == APIKey.hash(key))
            #expect(stored != key)
            let database = try Data(contentsOf: URL(fileURLWithPath: world.databasePath))
            #expect(database.range(of: Data(key.utf8)) == nil)

            let duplicate = try await live.json(.POST, "/v1/tenants", key: world.adminKey, ["slug": "springfield"])
            #expect(duplicate.status == 409)
            #expect(duplicate.code == "conflict")
            let badSlug = try await live.json(.POST, "/v1/tenants", key: world.adminKey, ["slug": "Not A Slug"])
            #expect(badSlug.status == 400)
            #expect(badSlug.code == "invalid_input")
            let badPolicy = try await live.json(.POST, "/v1/tenants", key: world.adminKey, ["slug": "x", "policy": "random"])
            #expect(badPolicy.status == 400)
        }
    }

    @Test func tenantManagementNeedsTheAdminKey() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let tenantKey = try await live.createTenant("springfield", adminKey: world.adminKey)
            for key in [nil, "wrong", tenantKey] as [String?] {
                let list = try await live.get("/v1/tenants", key: key)
                #expect(list.status == 401)
                #expect(list.code == "unauthorized")
                let create = try await live.json(.POST, "/v1/tenants", key: key, ["slug": "evil"])
                #expect(create.status == 401)
                let rotate = try await live.send(.POST, "/v1/tenants/springfield/api-key", key: key)
                #expect(rotate.status == 401)
            }
        }
    }

    @Test func rotatingAKeyRetiresTheOldOne() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let old = try await live.createTenant("springfield", adminKey: world.adminKey)
            let rotated = try await live.send(.POST, "/v1/tenants/springfield/api-key", key: world.adminKey)
            #expect(rotated.status == 200)
            let new = try #require(rotated.json["apiKey"] as? String)
            #expect(new != old)
            #expect(try await live.get("/v1/tenants/springfield/devices", key: old).status == 401)
            #expect(try await live.get("/v1/tenants/springfield/devices", key: new).status == 200)
            let missing = try await live.send(.POST, "/v1/tenants/nobody/api-key", key: world.adminKey)
            #expect(missing.status == 404)
            #expect(missing.code == "not_found")
        }
    }

    @Test func tenantRoutesRefuseMissingAndUnknownKeys() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            _ = try await live.createTenant("springfield", adminKey: world.adminKey)
            let none = try await live.get("/v1/tenants/springfield/apps", key: nil)
            #expect(none.status == 401)
            #expect(none.code == "unauthorized")
            #expect(none.headers.contains { $0.0.lowercased() == "www-authenticate" })
            let wrong = try await live.get("/v1/tenants/springfield/apps", key: "allot_guess")
            #expect(wrong.status == 401)
            let huge = try await live.get("/v1/tenants/springfield/apps", key: String(repeating: "k", count: 10_000))
            #expect(huge.status == 401 || huge.status == 400 || huge.status == 431)
            let notBearer = try await live.send(.GET, "/v1/tenants/springfield/apps", headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            #expect(notBearer.status == 401)
            // The admin key is for tenant management only.
            let admin = try await live.get("/v1/tenants/springfield/apps", key: world.adminKey)
            #expect(admin.status == 404)
        }
    }

    /// Every tenant route of B, asked with A's key, answers 404 as if B did not exist.
    @Test func aKeyOfOneTenantGetsNotFoundForEverythingOfAnother() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        try await withLiveServer(world) { live in
            let keyA = try await live.createTenant("alpha", adminKey: world.adminKey)
            let keyB = try await live.createTenant("bravo", adminKey: world.adminKey)
            let registered = try await live.json(.POST, "/v1/tenants/bravo/devices", key: keyB, ["devices": [["serialNumber": ServerWorld.serial(1)]]])
            #expect(registered.status == 200)

            let batch: [String: Any] = ["app": ServerWorld.sharedApp, "serialNumbers": [ServerWorld.serial(1)]]
            let requests: [(HTTPMethodName, String, [String: Any]?, [UInt8]?)] = [
                (.get, "", nil, nil), (.get, "/tokens", nil, nil), (.post, "/tokens", nil, Array(try world.tokenFile("1001").utf8)),
                (.post, "/tokens/1/renew", nil, Array(try world.tokenFile("1001").utf8)), (.delete, "/tokens/1", nil, nil),
                (.post, "/tokens/1/takeover", nil, nil), (.post, "/tokens/1/sync", nil, nil), (.post, "/sync", nil, nil),
                (.get, "/devices", nil, nil), (.post, "/devices", ["devices": [["serialNumber": ServerWorld.serial(2)]]], nil),
                (.post, "/devices/import", nil, Array("serial_number\n\(ServerWorld.serial(3))\n".utf8)),
                (.post, "/devices/retire", ["serialNumbers": [ServerWorld.serial(1)]], nil),
                (.get, "/apps", nil, nil), (.post, "/assignments", batch, nil), (.post, "/revocations", batch, nil),
                (.get, "/events", nil, nil), (.post, "/push", nil, nil),
            ]
            for (method, suffix, object, raw) in requests {
                let path = "/v1/tenants/bravo" + suffix
                let reply = if let object {
                    try await live.json(method.nio, path, key: keyA, object)
                } else {
                    try await live.send(method.nio, path, key: keyA, body: raw)
                }
                #expect(reply.status == 404, "\(method) \(path) answered \(reply.status)")
                #expect(reply.code == "not_found")
                #expect(!reply.text.contains("bravo") || reply.text.contains("there is no tenant 'bravo'"))
                let unknown = try await live.send(method.nio, "/v1/tenants/charlie" + suffix, key: keyA, body: raw)
                #expect(unknown.status == 404)
                #expect(unknown.json["message"] as? String == (reply.json["message"] as? String)?.replacingOccurrences(of: "bravo", with: "charlie"))
            }
            // B's data is untouched.
            let devices = try await live.get("/v1/tenants/bravo/devices", key: keyB)
            #expect(devices.array("devices").count == 1)
            #expect(devices.array("devices").first?["retired"] as? Bool == false)
        }
    }
}

enum HTTPMethodName: String { case get, post, delete }

extension HTTPMethodName {
    var nio: HTTPMethod {
        switch self {
        case .get: .GET
        case .post: .POST
        case .delete: .DELETE
        }
    }
}
