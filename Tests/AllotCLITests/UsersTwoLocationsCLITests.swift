import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestDeadlines
import Testing

/// One person registered at two locations (two tokens of one tenant's merged pool) gets exactly
/// one licence of an app both locations own: a real `allot serve` over HTTP, the served
/// simulator as Apple on loopback, and Apple's own record read back at the end.
@Suite(.timeLimit(.minutes(5))) struct UsersTwoLocationsCLITests {
    static let shared = "361309726"      // 1 licence at each location
    static let book = "1448295111"       // Main Campus only
    static let northApp = "409183694"    // North Campus only
    static let deliverSecondsMax = 60.0

    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2030-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "\(shared)", "pricingParam": "STDQ", "productType": "App", "total": 1, "deviceAssignable": true, "revocable": true},
                      {"adamId": "\(book)", "pricingParam": "STDQ", "productType": "Book", "total": 5, "deviceAssignable": false, "revocable": false}]},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2030-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "\(shared)", "pricingParam": "STDQ", "productType": "App", "total": 1, "deviceAssignable": true, "revocable": true},
                      {"adamId": "\(northApp)", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    struct Client {
        let base: String
        let key: String
        let session = URLSession(configuration: .ephemeral)

        func send(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> (status: Int, json: [String: Any]) {
            var request = URLRequest(url: URL(string: base + "/v1/tenants/springfield" + path)!)
            request.httpMethod = method
            request.timeoutInterval = 30
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            if let body {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = try JSONSerialization.data(withJSONObject: body)
            }
            let (data, response) = try await session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
        }

        func assign(_ app: String, _ users: [String]) async throws -> [String] {
            let answer = try await send("POST", "/user-assignments", ["app": app, "userIds": users])
            #expect(answer.status == 200, "\(answer)")
            return answer.json[array: "items"].compactMap { $0["result"] as? String }
        }
    }

    /// Apple's user assignments at one location, read from the served simulator with the
    /// location's token, as the engine reads them.
    func appleUserAssignments(_ apple: String, tokenFile: String) async throws -> [(adamId: String, clientUserId: String)] {
        var request = URLRequest(url: URL(string: apple + "/assignments")!)
        request.setValue("Bearer \(try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))",
                         forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession(configuration: .ephemeral).data(for: request)
        let page = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return page[array: "assignments"].compactMap { item in
            guard let user = item["clientUserId"] as? String, let adamId = item["adamId"] as? String else { return nil }
            return (adamId, user)
        }
    }

    @Test func aPersonRegisteredAtTwoLocationsGetsExactlyOneLicence() async throws {
        let workspace = try Workspace()
        workspace.environment["ALLOT_ADMIN_KEY"] = "test-admin-key-0123456789"
        try await workspace.simulator(seed: Self.seed)
        let apple = try await SimServeCLITests().serve(workspace)
        var processes = [apple.0]
        defer {
            for process in processes { process.stopInTheBackground(graceSeconds: 0) }
        }
        workspace.environment["ALLOT_APPLE"] = apple.1
        let created = try await workspace.run("tenant", "create", "springfield", "--json")
        #expect(created.status == 0, "\(created)")
        let tenantKey = try #require(try created.json()["apiKey"] as? String)
        for uId in ["1001", "1002"] {
            let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile(uId))
            #expect(added.status == 0, "\(added)")
        }
        let node = try await ServedAllot.start(workspace, arguments: ["--drain-seconds", "1"])
        processes.append(node.process)
        let client = Client(base: node.base, key: tenantKey)

        let registered = try await client.send("POST", "/users", ["users": [["userId": "ann", "email": "ann@school.example"], ["userId": "ben"], ["userId": "cid"]]])
        #expect(registered.status == 200 && registered.json[int: "imported"] == 3, "\(registered)")
        // The book comes from Main Campus, the other app from North Campus: Ann is registered at both.
        #expect(try await client.assign(Self.book, ["ann"]) == ["assigned"])
        #expect(try await client.assign(Self.northApp, ["ann"]) == ["assigned"])

        // The app both locations own, asked for Ann twice at once, and again: one licence.
        async let first = client.assign(Self.shared, ["ann"])
        async let second = client.assign(Self.shared, ["ann"])
        let both = try await [first, second].flatMap { $0 }
        #expect(both.sorted() == ["already_assigned", "assigned"], "\(both)")
        #expect(try await client.assign(Self.shared, ["ann", "ben", "cid"]) == ["already_assigned", "assigned", "no_license"])

        // Delivered: Apple holds exactly what the ledger does, Ann's shared licence once.
        let annId = try #require((try await client.send("GET", "/users/ann").json[object: "user"])["clientUserId"] as? String)
        let deadline = TestDeadlines.date(after: Self.deliverSecondsMax)
        var held: [(adamId: String, clientUserId: String)] = []
        while Date() < deadline {
            _ = try await client.send("POST", "/push")
            held = try await appleUserAssignments(apple.1, tokenFile: workspace.tokenFile("1001"))
                + appleUserAssignments(apple.1, tokenFile: workspace.tokenFile("1002"))
            if held.count == 4 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(held.count == 4, "Apple holds \(held)")
        #expect(held.filter { $0.clientUserId == annId }.map(\.adamId).sorted() == [Self.book, Self.shared, Self.northApp].sorted(), "\(held)")
        #expect(held.filter { $0.adamId == Self.shared }.count == 2, "one each for Ann and Ben, never above the total: \(held)")

        let ann = try await client.send("GET", "/users/ann")
        let locations = ann.json[array: "locations"]
        #expect(locations.compactMap { $0["locationUid"] as? String }.sorted() == ["1001", "1002"], "\(ann)")
        #expect(locations.allSatisfy { $0["status"] as? String == "registered" && $0["inviteUrl"] is String }, "\(ann)")
        #expect(ann.json[array: "licences"].count == 3)
        let apps = try await client.send("GET", "/apps")
        let shared = apps.json[array: "apps"].first { $0["adamId"] as? String == Self.shared } ?? [:]
        #expect(shared[int: "assigned"] == 2 && shared[int: "total"] == 2, "\(shared)")
    }

    /// A person accepts their invitation; Apple's USER_ASSOCIATED reaches `allot serve`, and the
    /// ledger shows them associated at that location.
    @Test func anAcceptedInvitationIsToldByAppleAndShown() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data("user_id,email\nann,ann@school.example\n".utf8))
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann")
        #expect(assigned.status == 0, "\(assigned)")
        let before = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        let location = try #require(before[array: "locations"].first)
        #expect(location["status"] as? String == "registered" && location["inviteUrl"] is String, "\(before)")
        let clientUserId = try #require(before[object: "user"]["clientUserId"] as? String)

        // `allot serve --public-url` gives the tokens' locations a receiver of Apple's notifications.
        let port = try WaitsCLITests.freePort()
        let node = try await ServedAllot.start(workspace, arguments: ["--port", String(port), "--public-url", "http://127.0.0.1:\(port)", "--drain-seconds", "1"],
                                               environment: ["ALLOT_ADMIN_KEY": "test-admin-key-0123456789"])
        defer { node.process.stopInTheBackground() }
        var configured = 0
        let ready = TestDeadlines.date(after: Self.deliverSecondsMax)
        while Date() < ready && configured < 2 {
            try await Task.sleep(for: .milliseconds(200))
            let log = String(decoding: FileManager.default.contents(atPath: workspace.path("serve.err")) ?? Data(), as: UTF8.self)
            configured = log.components(separatedBy: "route=/apple/notifications/{token} status=200").count - 1
        }
        try #require(configured >= 2, "the receivers were never configured")

        let accepted = try await workspace.run("sim", "accept-invitation", "--state", workspace.path("sim.json"), "--location", "1001", "--user", clientUserId)
        #expect(accepted.status == 0, "\(accepted)")
        var status: String?
        let deadline = TestDeadlines.date(after: Self.deliverSecondsMax)
        while Date() < deadline {
            status = try await workspace.json("users", "show", "--tenant", "springfield", "ann")[array: "locations"].first?["status"] as? String
            if status == "associated" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status == "associated")
        let events = try await workspace.json("events", "--tenant", "springfield", "--kind", "user_status_changed")[array: "events"]
        #expect(events.contains { ($0["detail"] as? [String: Any])?["to"] as? String == "associated" }, "\(events)")
    }
}
