import Foundation
import Testing

/// People, not only devices: `users import|list|show|retire`, `assign --user|--user-group`,
/// `revoke --user`, their answers and exit codes as the devices'.
@Suite(.timeLimit(.minutes(5))) struct UsersCLITests {
    static let roster = """
        User ID;Email Address;Managed Apple Account;Group
        ann;ann@school.example;;teachers
        ben;ben@school.example;ben@appleid.school.example;teachers
        ;nobody@school.example;;x
        cid;cid@school.example;;students

        """

    @Test func aRosterOfPeopleImportsFromStandardInputWithItsRejectedLines() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let imported = try await workspace.run(["users", "import", "--tenant", "springfield", "-", "--json"], stdin: Data(Self.roster.utf8))
        #expect(imported.status == 3, "some lines rejected, the rest committed: \(imported)")
        let report = try imported.json()
        #expect(report[int: "imported"] == 3)
        #expect(report[array: "rejected"].first?["line"] as? Int == 4)

        let users = try await workspace.json("users", "list", "--tenant", "springfield")[array: "users"]
        #expect(users.map { $0["userId"] as? String } == ["ann", "ben", "cid"])
        #expect(users[0]["managedAppleId"] is NSNull && users[1]["managedAppleId"] as? String == "ben@appleid.school.example")
        #expect(users.allSatisfy { ($0["clientUserId"] as? String)?.count == 36 })
        let teachers = try await workspace.json("users", "list", "--tenant", "springfield", "--group", "teachers")[array: "users"]
        #expect(teachers.count == 2)

        let text = try await workspace.run("users", "list", "--tenant", "springfield")
        #expect(text.status == 0 && text.stdout.contains("3 users."))
        let shown = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        #expect(shown[object: "user"]["userId"] as? String == "ann")
        #expect(shown[array: "locations"].isEmpty && shown[array: "licences"].isEmpty)
        let unknown = try await workspace.run("users", "show", "--tenant", "springfield", "zed", "--json")
        #expect(unknown.status == 1)
        #expect(try unknown.json()["code"] as? String == "not_found", "\(unknown)")
    }

    @Test func peopleGetLicencesFromTheMergedPoolWithTheDevicesExitCodes() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data(Self.roster.utf8))
        let dry = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user-group", "teachers", "--dry-run", "--json")
        #expect(dry.status == 0, "\(dry)")
        #expect(try dry.json()[object: "counts"]["assigned"] as? Int == 2)
        #expect(try dry.json()["batchId"] is NSNull)

        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ann", "zed",
                                               "--no-push", "--idempotency-key", "people-1", "--json")
        #expect(assigned.status == 3, "committed with a failure: \(assigned)")
        let answer = try assigned.json()
        let items = answer[array: "items"]
        #expect(items.map { $0["userId"] as? String } == ["ann", "zed"])
        #expect(items.map { $0["result"] as? String } == ["assigned", "unknown_user"])
        #expect(try await workspace.sharedPool()[int: "assigned"] == 1)
        let again = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ann", "zed",
                                            "--no-push", "--idempotency-key", "people-1", "--json")
        #expect(try again.json()["batchId"] as? Int == answer["batchId"] as? Int)

        // Books go to people, not to devices.
        let book = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "cid", "--no-push")
        #expect(book.status == 0 && book.stdout.contains("1 assigned"), "\(book)")
        let shown = try await workspace.json("users", "show", "--tenant", "springfield", "cid")
        #expect(shown[array: "licences"].first?["adamId"] as? String == Workspace.book)
        #expect(shown[array: "locations"].first?["status"] as? String == "registering")

        let revoked = try await workspace.json("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ann", "--no-push")
        #expect(revoked[object: "counts"]["revoked"] as? Int == 1)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)

        let both = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ann", "--all-devices")
        #expect(both.status == 2, "\(both)")
        #expect(both.stderr.contains("--user"), "\(both)")
        let noGroup = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user-group", "nobody", "--json")
        #expect(noGroup.status == 1)
        #expect(try noGroup.json()["code"] as? String == "not_found", "\(noGroup)")
    }

    @Test func retiringAPersonGivesTheirLicencesBackAndRetiresThemAtApple() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data(Self.roster.utf8))
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user-group", "teachers")
        #expect(assigned.status == 0 && assigned.stdout.contains("2 assigned"), "\(assigned)")
        #expect(assigned.stdout.contains("Apple: 2 requests sent, 2 operations finished."), "\(assigned)")
        let ann = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        #expect(ann[array: "locations"].first?["status"] as? String == "registered")
        #expect(ann[array: "licences"].first?["confirmed"] as? Bool == true)
        let ben = try await workspace.json("users", "show", "--tenant", "springfield", "ben")
        #expect(ben[array: "locations"].first?["status"] as? String == "associated", "a Managed Apple Account is associated at once: \(ben)")
        let shown = try await workspace.run("users", "show", "--tenant", "springfield", "ann")
        #expect(shown.stdout.contains("Send ann the invitation https://"), "\(shown)")

        // A sync reads Apple's counts, people's licences among them: counted once, as ours.
        let synced = try await workspace.run("sync", "--tenant", "springfield", "--json")
        #expect(synced.status == 0, "\(synced)")
        let book = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"].first { $0["adamId"] as? String == Workspace.book } ?? [:]
        #expect(book[int: "assigned"] == 2 && book[int: "available"] == 28, "\(book)")

        let retired = try await workspace.run("users", "retire", "--tenant", "springfield", "ann", "--json")
        #expect(retired.status == 0, "\(retired)")
        #expect(try retired.json()[int: "revoked"] == 1)
        #expect(try retired.json()[object: "delivery"]["pushed"] as? Bool == true, "\(retired)")
        let after = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        #expect(after[object: "user"]["retired"] as? Bool == true)
        #expect(after[array: "locations"].first?["status"] as? String == "retired", "\(after)")
        #expect(after[array: "licences"].isEmpty)
        let again = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann", "--json")
        #expect(again.status == 3, "\(again)")
        #expect(try again.json()[array: "items"].first?["result"] as? String == "unknown_user", "\(again)")
    }

    /// Two rows of the roster for one person (the same Managed Apple Account): Apple refuses the
    /// second one's licence (9616, naming the first), and the ledger gives it back rather than
    /// count one person twice.
    @Test func onePersonUnderTwoIdsIsGivenOneLicence() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let roster = "user_id,managed_apple_id\nann,ann@appleid.school.example\nann-again,ann@appleid.school.example\n"
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data(roster.utf8))
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann")
        #expect(assigned.status == 0, "\(assigned)")
        let second = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann-again")
        #expect(second.status == 0, "the batch answers assigned; Apple's refusal comes with delivery: \(second)")
        let held = try await workspace.json("users", "show", "--tenant", "springfield", "ann-again")[array: "licences"]
        #expect(held.isEmpty, "\(held)")
        let book = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"].first { $0["adamId"] as? String == Workspace.book } ?? [:]
        #expect(book[int: "assigned"] == 1, "\(book)")
        let released = try await workspace.json("events", "--tenant", "springfield", "--kind", "licences_released")[array: "events"]
        #expect(released.count == 1, "\(released)")
    }

    @Test func peopleWaitInTheQueueAfterTheDevicesAndAreServedWhenALicenceComesBack() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 15)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data(Self.roster.utf8))
        // 15 licences of the shared app, all to devices; the people queue for it.
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push").status == 0)
        let queued = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ann", "ben",
                                             "--queue", "--no-push", "--json")
        #expect(queued.status == 3, "queued people hold nothing yet: \(queued)")
        #expect(try queued.json()[array: "items"].map { $0["result"] as? String } == ["queued", "queued"])
        let queue = try await workspace.json("queue", "list", "--tenant", "springfield")
        #expect(queue[array: "queue"].isEmpty)
        #expect(queue[array: "users"].map { $0["userId"] as? String } == ["ann", "ben"])
        #expect(queue[array: "users"].map { $0["position"] as? Int } == [1, 2])
        let text = try await workspace.run("queue", "list", "--tenant", "springfield")
        #expect(text.stdout.contains("No device is waiting.") && text.stdout.contains("2 users waiting for 1 app"), "\(text)")

        // A device retired gives its licence to the head of the people's queue.
        #expect(try await workspace.run("devices", "retire", "--tenant", "springfield", Workspace.serial(1)).status == 0)
        let after = try await workspace.json("queue", "list", "--tenant", "springfield")
        #expect(after[array: "users"].map { $0["userId"] as? String } == ["ben"])
        #expect(try await workspace.json("users", "show", "--tenant", "springfield", "ann")[array: "licences"].count == 1)
        // A revoke takes a waiting person out of the queue.
        let revoked = try await workspace.json("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--user", "ben", "--no-push")
        #expect(revoked[array: "items"].first?["result"] as? String == "not_assigned")
        #expect(try await workspace.json("queue", "list", "--tenant", "springfield")[array: "users"].isEmpty)
    }

    /// Without a receiver of Apple's notifications, a sync asks Apple about the people who had
    /// not accepted their invitation yet.
    @Test func aSyncLearnsOfAnAcceptedInvitation() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data("user_id\nann\n".utf8))
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann").status == 0)
        let ann = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        #expect(ann[array: "locations"].first?["status"] as? String == "registered")
        let clientUserId = try #require(ann[object: "user"]["clientUserId"] as? String)
        let accepted = try await workspace.run("sim", "accept-invitation", "--state", workspace.path("sim.json"), "--location", "1001", "--user", clientUserId)
        #expect(accepted.status == 0, "\(accepted)")
        #expect(try await workspace.json("users", "show", "--tenant", "springfield", "ann")[array: "locations"].first?["status"] as? String == "registered")
        #expect(try await workspace.run("sync", "--tenant", "springfield").status == 0)
        let after = try await workspace.json("users", "show", "--tenant", "springfield", "ann")
        #expect(after[array: "locations"].first?["status"] as? String == "associated", "\(after)")
    }

    /// Apple short of licences when the association arrives (a refund meanwhile): the people it
    /// refused are given back and wait in the app's queue, as devices would.
    @Test func peopleAppleRefusesForWantOfLicencesWaitInTheQueue() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        _ = try await workspace.run(["users", "import", "--tenant", "springfield", "-"], stdin: Data(Self.roster.utf8))
        let assigned = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.book, "--user", "ann", "ben", "cid", "--no-push")
        #expect(assigned[object: "counts"]["assigned"] as? Int == 3)
        let refund = try await workspace.run("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1001", "--app", Workspace.book, "--total", "1")
        #expect(refund.status == 0, "\(refund)")
        _ = try await workspace.run("push", "--tenant", "springfield")
        let book = try await workspace.json("apps", "--tenant", "springfield")[array: "apps"].first { $0["adamId"] as? String == Workspace.book } ?? [:]
        #expect(book[int: "assigned"] == 1, "\(book)")
        let waiting = try await workspace.json("queue", "list", "--tenant", "springfield")[array: "users"]
        #expect(waiting.count == 2, "\(waiting)")
        let released = try await workspace.json("events", "--tenant", "springfield", "--kind", "licences_released")[array: "events"]
        #expect(released.first.flatMap { ($0["detail"] as? [String: Any])?["requeued"] as? Bool } == true, "\(released)")
    }
}
