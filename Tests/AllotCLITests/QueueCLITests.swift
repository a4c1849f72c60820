import Foundation
import Testing

/// `assign --queue`, `queue list`, `queue cancel`: devices wait for licences and are served in order.
@Suite(.timeLimit(.minutes(5))) struct QueueCLITests {
    @Test func devicesWaitInOrderAndARevocationServesTheHead() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 18)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--queue", "--json")
        #expect(assigned.status == 3, "committed, some devices only wait: \(assigned)")
        #expect(try assigned.json()[object: "counts"] as? [String: Int] == ["assigned": 15, "queued": 3])

        let queue = try await workspace.json("queue", "list", "--tenant", "springfield")[array: "queue"]
        #expect(queue.map { $0["serialNumber"] as? String } == (16...18).map { Workspace.serial($0) })
        #expect(queue.map { $0[int: "position"] } == [1, 2, 3])
        #expect(queue.allSatisfy { $0["adamId"] as? String == Workspace.sharedApp && $0["queuedAt"] is String })

        #expect(try await workspace.run("apps", "--tenant", "springfield").stdout.contains("3 waiting (`allot queue list`)"))
        let text = try await workspace.run("queue", "list", "--tenant", "springfield", "--app", Workspace.sharedApp)
        #expect(text.status == 0)
        #expect(text.stdout.contains("3 devices waiting for 1 app."), "\(text)")

        let revoked = try await workspace.run("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(1))
        #expect(revoked.status == 0, "\(revoked)")
        let after = try await workspace.json("queue", "list", "--tenant", "springfield")[array: "queue"]
        #expect(after.map { $0["serialNumber"] as? String } == [Workspace.serial(17), Workspace.serial(18)])
        #expect(after.map { $0[int: "position"] } == [1, 2])
        let head = try await workspace.json("devices", "show", "--tenant", "springfield", Workspace.serial(16))
        #expect(head[array: "licences"].count == 1, "the head of the queue got the licence given back")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 15)
        #expect(try await workspace.appleAssignments().count == 15, "the served device was pushed to Apple with the revocation")
        let events = try await workspace.json("events", "--tenant", "springfield", "--kind", "queue_served")[array: "events"]
        #expect(events.count == 1)

        // Apple raises North Campus's total by one: the sync serves the next device.
        let raised = try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1002", "--app", Workspace.sharedApp, "--total", "6")
        #expect(raised.status == 0, "\(raised)")
        #expect(try await workspace.run("sync", "--tenant", "springfield").status == 0)
        #expect(try await workspace.json("queue", "list", "--tenant", "springfield")[array: "queue"].map { $0["serialNumber"] as? String } == [Workspace.serial(18)])
        #expect(try await workspace.json("devices", "show", "--tenant", "springfield", Workspace.serial(17))[array: "licences"].count == 1)

        let cancelled = try await workspace.json("queue", "cancel", "--tenant", "springfield", "--app", Workspace.sharedApp, Workspace.serial(18), Workspace.serial(1))
        #expect(cancelled["cancelled"] as? [String] == [Workspace.serial(18)])
        #expect(cancelled["notQueued"] as? [String] == [Workspace.serial(1)])

        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(18), "--queue")
        let retired = try await workspace.run("devices", "retire", "--tenant", "springfield", Workspace.serial(18))
        #expect(retired.status == 0, "\(retired)")
        let empty = try await workspace.run("queue", "list", "--tenant", "springfield")
        #expect(empty.stdout.contains("No device is waiting"), "a retired device leaves every queue: \(empty)")
    }

    @Test func aCutListSaysHowToSeeTheRestAndLimitOrAllShowsIt() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 28)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--queue").status == 3)
        let cut = try await workspace.run("queue", "list", "--tenant", "springfield")
        #expect(cut.stdout.contains("… and 3 more; --all lists every one."), "13 wait, 10 shown: \(cut)")
        let all = try await workspace.run("queue", "list", "--tenant", "springfield", "--all")
        #expect(all.status == 0 && all.stdout.contains(Workspace.serial(28)) && !all.stdout.contains("more;"), "\(all)")
        let three = try await workspace.run("queue", "list", "--tenant", "springfield", "--limit", "3")
        #expect(three.stdout.contains("… and 10 more; --all lists every one."), "\(three)")
        #expect(!three.stdout.contains(Workspace.serial(19)), "the fourth waiting device is not shown: \(three)")
        let both = try await workspace.run("queue", "list", "--tenant", "springfield", "--limit", "3", "--all")
        #expect(both.status == 2 && both.stderr.contains("--limit and --all cannot go together"), "\(both)")
    }

    @Test func aRevokeCannotQueue() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--queue")
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("--queue is an option of `allot assign`, not of `allot revoke`"), "\(result)")
    }
}
