import Foundation
import PostgresTestCluster
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestDeadlines
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two `allot serve` nodes on one PostgreSQL database, the served simulator as Apple, clients
/// racing assign batches through both, one node killed mid-load (issue 13, point 3).
@Suite(.timeLimit(.minutes(5))) struct TwoNodesCLITests {
    static let licences = 20
    static let devices = 48
    static let batchSize = 2
    static let clients = 12
    static let adminKey = "test-admin-key-0123456789"
    /// Bounded wait: the outbox to reach Apple (a dead node's lease must run out first).
    static let deliverSecondsMax = 90.0

    static let seed = """
        {"locations": [{"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools",
          "expires": "2030-09-01T00:00:00Z", "mdmInfo": null,
          "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": \(licences),
                      "deviceAssignable": true, "revocable": true}]}]}
        """

    /// Starts `allot serve` on any free port; returns the process and its base URL.
    func node(_ workspace: Workspace, _ name: String) async throws -> (Process, String) {
        // The shortest lease (`ServeLimits.leaseSecondsMin`): the dead node's claims run out within the delivery wait (the
        // default, 120 s, outlasted it whenever node 1 died holding claims: a loaded machine).
        let node = try await ServedAllot.start(workspace, arguments: ["--drain-seconds", "1", "--lease-seconds", "35"], log: "\(name).err")
        return (node.process, node.base)
    }

    /// One batch's answer, or nil when neither node answered.
    struct Answer: Sendable {
        let key: String
        let serials: [String]
        let body: Data
    }

    static func post(_ base: String, tenantKey: String, idempotencyKey: String, serials: [String], session: URLSession) async -> Data? {
        var request = URLRequest(url: URL(string: base + "/v1/tenants/springfield/assignments")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 30
        request.setValue("Bearer \(tenantKey)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key")
        request.httpBody = try? JSONSerialization.data(withJSONObject: ["app": "361309726:STDQ", "serialNumbers": serials])
        guard let (data, response) = try? await session.data(for: request),
              (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
        return data
    }

    static func object(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    @Test func twoNodesOnOneDatabaseNeverOverAllocateAndLoseOrDoubleSendNothingWhenOneIsKilled() async throws {
        guard let server = PostgresTestServer.server else { return }
        let database = try server.createDatabase("twonodes")
        defer { server.dropDatabase(database) }
        let workspace = try Workspace()
        workspace.environment["ALLOT_DB"] = server.url(database)
        workspace.environment["ALLOT_SECRET_KEY"] = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        workspace.environment["ALLOT_ADMIN_KEY"] = Self.adminKey
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
        var csv = "serial_number\n"
        for index in 1...Self.devices { csv += Workspace.serial(index) + "\n" }
        #expect(try await workspace.run("devices", "import", "--tenant", "springfield", workspace.write("roster.csv", csv)).status == 0)
        let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(added.status == 0, "\(added)")

        let first = try await node(workspace, "node1")
        processes.append(first.0)
        let second = try await node(workspace, "node2")
        processes.append(second.0)
        let bases = [first.1, second.1]

        // Batches of distinct devices, more than the pool holds; client c sends batches c,
        // c + clients, … alternating nodes. Node 1 is killed once a third have been answered;
        // a request it does not answer is repeated once on node 2 with the same key.
        let batches = stride(from: 1, through: Self.devices, by: Self.batchSize).map { start in
            (start..<start + Self.batchSize).map(Workspace.serial)
        }
        let session = URLSession(configuration: .ephemeral)
        let killAfter = batches.count / 3
        let answered = Counter()
        let victim = first.0.processIdentifier
        let answers = await withTaskGroup(of: [Answer].self) { group in
            for client in 0..<Self.clients {
                group.addTask {
                    var mine: [Answer] = []
                    for (turn, index) in stride(from: client, to: batches.count, by: Self.clients).enumerated() {
                        let key = "two-nodes-\(index)"
                        let base = bases[(client + turn) % 2]
                        var body = await Self.post(base, tenantKey: tenantKey, idempotencyKey: key, serials: batches[index], session: session)
                        if body == nil, base == bases[0] {
                            body = await Self.post(bases[1], tenantKey: tenantKey, idempotencyKey: key, serials: batches[index], session: session)
                        }
                        guard let body else { continue }
                        mine.append(Answer(key: key, serials: batches[index], body: body))
                        if await answered.increment() == killAfter { kill(victim, SIGKILL) }
                    }
                    return mine
                }
            }
            var all: [Answer] = []
            for await some in group { all += some }
            return all
        }
        if first.0.isRunning { kill(victim, SIGKILL) }
        await first.0.endedOrKilled()
        #expect(first.0.terminationReason == .uncaughtSignal)
        #expect(second.0.isRunning, "node 2 went on")

        // The ledger: exactly N licences, and every answered batch in it.
        let pool = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"].first { $0["adamId"] as? String == "361309726" } ?? [:]
        #expect(pool[int: "assigned"] == Self.licences, "pool: \(pool)")
        let holders = try await workspace.json("apps", "--tenant", "springfield", "--app", "361309726", "--devices", "--limit", "1000")
        let ledgerSerials = Set(holders[array: "devices"].compactMap { $0["serialNumber"] as? String })
        #expect(ledgerSerials.count == Self.licences, "holders: \(holders)")
        #expect(answers.count >= killAfter, "answers: \(answers.count)")
        var answeredAssigned = Set<String>()
        for answer in answers {
            let view = Self.object(answer.body)
            let items = view[array: "items"]
            #expect(items.compactMap { $0["serialNumber"] as? String } == answer.serials, "\(answer.key): \(view)")
            for item in items where item["result"] as? String == "assigned" {
                answeredAssigned.insert(item["serialNumber"] as? String ?? "")
            }
            // Its key replays the same answer on the surviving node.
            let replay = await Self.post(bases[1], tenantKey: tenantKey, idempotencyKey: answer.key, serials: answer.serials, session: session)
            let again = replay.map(Self.object) ?? [:]
            #expect(again["batchId"] as? Int == view["batchId"] as? Int, "\(answer.key): \(view) then \(again)")
            #expect(again[array: "items"].compactMap { $0["result"] as? String } == items.compactMap { $0["result"] as? String }, "\(answer.key)")
        }
        #expect(answeredAssigned.isSubset(of: ledgerSerials), "answered \(answeredAssigned.sorted()), ledger \(ledgerSerials.sorted())")
        #expect(try await workspace.sharedPool()[int: "assigned"] == Self.licences, "replays spent nothing")

        // Apple: once node 2's worker has delivered (the dead node's lease runs out first),
        // Apple holds exactly the ledger's set, each device once.
        var appleSerials: [String] = []
        let deadline = TestDeadlines.date(after: Self.deliverSecondsMax)
        while Date() < deadline {
            appleSerials = try await workspace.appleAssignments().compactMap { $0["serialNumber"] as? String }
            if Set(appleSerials) == ledgerSerials { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(Set(appleSerials) == ledgerSerials, "Apple \(appleSerials.sorted()), ledger \(ledgerSerials.sorted())")
        #expect(appleSerials.count == ledgerSerials.count, "Apple holds a device twice: \(appleSerials.sorted())")
        kill(second.0.processIdentifier, SIGKILL)
    }
}

actor Counter {
    private var value = 0
    func increment() -> Int {
        value += 1
        return value
    }
}
