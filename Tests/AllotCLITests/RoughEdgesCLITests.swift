import Foundation
import Testing

/// The small things of issue 16.4, each as a user meets it.
@Suite(.timeLimit(.minutes(5))) struct RoughEdgesCLITests {
    @Test func versionIsPrinted() async throws {
        let result = try await Workspace().run("--version")
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3, "\(result)")
    }

    @Test func aMistypedCommandGetsASuggestion() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("asign", "--tenant", "springfield")
        #expect(result.status == 2)
        result.expectOneSentence(containing: "did you mean `allot assign`")
        let nested = try await workspace.run("devices", "retrie", "--tenant", "springfield")
        #expect(nested.status == 2)
        nested.expectOneSentence(containing: "`allot devices retire`")
    }

    @Test func anUnknownFlagIsNamed() async throws {
        let result = try await Workspace().run("apps", "--tennant", "springfield")
        #expect(result.status == 2)
        result.expectOneSentence(containing: "Unknown option '--tennant'")
        #expect(result.stderr.contains("did you mean --tenant?"), "\(result.stderr)")
    }

    @Test func aMistypedDatabaseIsNotCreated() async throws {
        let workspace = try Workspace()
        let typo = workspace.path("allot.sqlit")
        let result = try await workspace.run("apps", "--tenant", "springfield", "--db", typo)
        #expect(result.status == 1)
        result.expectOneSentence(containing: "no database at")
        #expect(!FileManager.default.fileExists(atPath: typo), "nothing created at the mistyped path")
        #expect(try await workspace.run("tenant", "create", "springfield", "--db", typo).status == 0, "creating a tenant may create it")
    }

    @Test(arguments: ["Serial Number", "serial", "SerialNumber", "SERIAL_NUMBER", " serial number "])
    func commonRosterHeadersAreAccepted(_ header: String) async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let file = try workspace.write("export.csv", "Device Name,\(header)\niPad one,SER00000001\niPad two,SER00000002\n")
        let result = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--json")
        #expect(result.status == 0, "\(result)")
        #expect(try result.json()[int: "imported"] == 2)
        let devices = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(devices.first?["name"] as? String == "iPad one", "`Device Name` is the name column")
    }

    @Test func aRosterComesFromStandardInputAndRetiresDevices() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 6)
        let stdin = Data("serial\n\(Workspace.serial(1))\n\(Workspace.serial(2))\n".utf8)
        let assigned = try await workspace.run(["assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--roster", "-", "--json"], stdin: stdin)
        #expect(assigned.status == 0, "\(assigned)")
        #expect(try assigned.json()[object: "counts"]["assigned"] as? Int == 2)

        let list = try workspace.write("retire.txt", "\(Workspace.serial(1))\n\(Workspace.serial(3))\n")
        let retired = try await workspace.run("devices", "retire", "--tenant", "springfield", "--roster", list, "--json")
        #expect(retired.status == 0, "\(retired)")
        #expect(try retired.json()[int: "revoked"] == 1)
        let devices = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(devices.filter { $0["retired"] as? Bool == true }.count == 2)
    }

    @Test func eventsSinceAMoment() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        #expect(try await workspace.json("events", "--tenant", "springfield", "--since", "1h")[array: "events"].count == 1)
        #expect(try await workspace.json("events", "--tenant", "springfield", "--since", "2999-01-01")[array: "events"].isEmpty)
        #expect(try await workspace.json("events", "--tenant", "springfield", "--since", "2000-01-01T00:00:00Z")[array: "events"].count == 1)
        #expect(try await workspace.run("events", "--tenant", "springfield", "--since", "yesterday").status == 2)
    }

    @Test func aDeviceShowsWhatItHoldsAndAnAppShowsItsDevices() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(2)).status == 0)
        let shown = try await workspace.json("devices", "show", "--tenant", "springfield", Workspace.serial(2))
        #expect(shown["serialNumber"] as? String == Workspace.serial(2))
        let licences = shown[array: "licences"]
        #expect(licences.count == 1)
        #expect(licences.first?["adamId"] as? String == Workspace.sharedApp)
        #expect(licences.first?["confirmed"] is Bool)
        #expect(try await workspace.json("devices", "show", "--tenant", "springfield", Workspace.serial(1))[array: "licences"].isEmpty)

        let holders = try await workspace.json("apps", "--tenant", "springfield", "--app", Workspace.sharedApp, "--devices")
        #expect(holders[array: "devices"].map { $0["serialNumber"] as? String } == [Workspace.serial(2)])
        #expect(holders["more"] as? Bool == false)
        let text = try await workspace.run("apps", "--tenant", "springfield", "--app", Workspace.sharedApp, "--devices")
        #expect(text.stdout.contains("1 device holds 361309726:STDQ."), "\(text.stdout)")
    }

    @Test func tokenListShowsDaysLeftOnlyForUsableTokensAndTheDocumentedStateWord() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        try await workspace.json("sim", "claim", "--state", workspace.path("sim.json"), "--location", "1002", "--name", "Other MDM")
        _ = try await workspace.run("sync", "--tenant", "springfield")
        let text = try await workspace.run("token", "list", "--tenant", "springfield")
        let lines = text.stdout.split(separator: "\n")
        let claimed = try #require(lines.first { $0.contains("1002") })
        #expect(claimed.contains("claimed_elsewhere (Other MDM)"), "\(claimed)")
        #expect(!claimed.contains("left"), "no days left for a token that supplies nothing: \(claimed)")
        let active = try #require(lines.first { $0.contains("1001") })
        #expect(active.contains("days left"), "\(active)")
    }

    @Test func licencesAvailableCountOnlyWhatDevicesCanGet() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let text = try await workspace.run("apps", "--tenant", "springfield")
        #expect(text.stdout.contains("2 apps, 15 licences available to devices."), "the book's 30 are not counted: \(text.stdout)")
    }

    @Test func simSetTotalAnswersANumber() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        let answer = try await workspace.json("sim", "set-total", "--state", workspace.path("sim.json"), "--location", "1001",
                                        "--app", Workspace.sharedApp, "--total", "40")
        #expect(answer["total"] as? Int == 40)
    }

    @Test func revokeHelpListsOnlyRevokeResults() async throws {
        let workspace = try Workspace()
        let revoke = try await workspace.run("revoke", "--help").stdout
        #expect(revoke.contains("not_assigned"))
        #expect(!revoke.contains("no_license") && !revoke.contains("already_assigned"), "\(revoke)")
        let assign = try await workspace.run("assign", "--help").stdout
        #expect(assign.contains("no_license") && !assign.contains("not_assigned"))
    }

    @Test func tablesAlignWideNames() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let file = try workspace.write("wide.csv", "serial_number,name,model\nSER00000001,図書館の端末,Tablet\nSER00000002,Lab 🧪 one,Tablet\nSER00000003,plain,Tablet\n")
        #expect(try await workspace.run("devices", "import", "--tenant", "springfield", file).status == 0)
        let lines = try await workspace.run("devices", "list", "--tenant", "springfield").stdout.split(separator: "\n").filter { $0.hasPrefix("SER0") }
        #expect(lines.count == 3)
        // The MODEL column starts at the same terminal column on every row: each CJK character
        // and the emoji take two columns.
        let columns = lines.map { line in
            String(line[..<line.range(of: "Tablet")!.lowerBound]).unicodeScalars.reduce(0) { width, scalar in
                width + ((0x3000...0x9FFF).contains(scalar.value) || scalar.properties.isEmojiPresentation ? 2 : 1)
            }
        }
        #expect(Set(columns).count == 1, "\(lines)")
    }

    @Test func aTokenFileGivenAsARosterIsNotEchoed() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let token = try String(contentsOfFile: workspace.tokenFile("1001"), encoding: .utf8)
        let result = try await workspace.run("devices", "import", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "serial number column")
        let text = token.trimmingCharacters(in: .whitespacesAndNewlines)
        for offset in stride(from: 0, to: text.count - 8, by: 4) {
            let piece = String(text.dropFirst(offset).prefix(8))
            #expect(!result.stderr.contains(piece), "the error echoes the token's bytes '\(piece)'")
        }
    }
}
