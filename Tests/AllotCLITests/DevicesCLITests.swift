import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct DevicesCLITests {
    @Test func aRosterImportCountsNewKnownAndRejectedLines() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let first = try workspace.write("first.csv", """
            serial_number,name,model,group
            C02XK1JHJG5J,Lab 1,iPad (10th generation),lab
            DMPXL0A1KXF8,Lab 2,iPad Air,lab
            short,Broken,iPad,lab
            F9FZR2ABHG7K,Library 1,iPad mini,library

            """)
        let imported = try await workspace.run("devices", "import", "--tenant", "springfield", first, "--json")
        #expect(imported.status == 3, "some lines rejected, the rest committed: \(imported)")
        let report = try imported.json()
        #expect(report[int: "imported"] == 3)
        #expect(report[int: "updated"] == 0)
        let rejected = report[array: "rejected"]
        #expect(rejected.count == 1)
        #expect(rejected.first?["line"] as? Int == 4)
        #expect((rejected.first?["reason"] as? String)?.contains("short") == true)

        let second = try workspace.write("second.csv", "serial_number,group\nC02XK1JHJG5J,library\nH4TXK9LMQ2RT,library\n")
        let again = try await workspace.run("devices", "import", "--tenant", "springfield", second, "--json")
        #expect(again.status == 0)
        #expect(try again.json()[int: "imported"] == 1)
        #expect(try again.json()[int: "updated"] == 1)
    }

    @Test func devicesAreListedWithEveryFieldNullWhenUnknown() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        try await workspace.run("devices", "import", "--tenant", "springfield", workspace.write("r.csv", "serial_number,name\nC02XK1JHJG5J,Lab 1\n"))
        let devices = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(devices.count == 1)
        let device = try #require(devices.first)
        #expect(device["serialNumber"] as? String == "C02XK1JHJG5J")
        #expect(device["name"] as? String == "Lab 1")
        #expect(device["model"] is NSNull)
        #expect(device["group"] is NSNull)
        #expect(device["retired"] as? Bool == false)
    }

    @Test func aFileThatIsNotARosterIsRefusedAndNothingIsImported() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("devices", "import", "--tenant", "springfield", workspace.write("r.csv", "imei,name\nC02XK1JHJG5J,Lab\n"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "serial_number")
        #expect(try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].isEmpty)
    }

    @Test func aMissingRosterFileIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run("devices", "import", "--tenant", "springfield", "nowhere.csv")
        #expect(result.status == 1)
        result.expectOneSentence(containing: "nowhere.csv")
    }

    @Test func retiringAnUnknownSerialIsRefusedAndRetiresNothing() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 2)
        let result = try await workspace.run("devices", "retire", "--tenant", "springfield", Workspace.serial(1), "ZZZZ99999999")
        #expect(result.status == 1)
        result.expectOneSentence(containing: "ZZZZ99999999")
        let devices = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(devices.allSatisfy { $0["retired"] as? Bool == false })
    }

    @Test func retiredDevicesAreReportedAndLeaveTheSelection() async throws {
        let workspace = try Workspace()
        // Tokens that have the app: a batch of an app no token has is refused before its devices are read.
        try await workspace.world(devices: 4)
        let retired = try await workspace.json("devices", "retire", "--tenant", "springfield", Workspace.serial(2))
        #expect(retired[int: "revoked"] == 0)
        #expect((retired["devices"] as? [String]) == [])
        let devices = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(devices.first { $0["serialNumber"] as? String == Workspace.serial(2) }?["retired"] as? Bool == true)
        // --group lab held SER…2 and SER…4; only SER…4 is still managed.
        let batch = try await workspace.run("assign", "--tenant", "springfield", "--app", "361309726", "--group", "lab", "--dry-run", "--json")
        let serials = try batch.json()[array: "items"].compactMap { $0["serialNumber"] as? String }
        #expect(serials == [Workspace.serial(4)])
    }

    @Test func peopleSeeATableAndASummary() async throws {
        let workspace = try Workspace()
        try await workspace.tenantWithDevices(count: 1_200)
        let result = try await workspace.run("devices", "list", "--tenant", "springfield")
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("SERIAL"))
        #expect(result.stdout.contains("1,200 devices."))
    }
}
