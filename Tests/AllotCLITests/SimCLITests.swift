import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct SimCLITests {
    @Test func initWritesATokenFilePerLocation() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("sim", "init", "--seed", workspace.write("seed.json", Workspace.seed), "--state", workspace.path("sim.json"),
                                       "--tokens-dir", workspace.path("tokens"), "--json")
        #expect(result.status == 0, "\(result)")
        let files = try #require(try result.json()["tokenFiles"] as? [String])
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["1001.vpptoken", "1002.vpptoken", "3001.vpptoken"])
        #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    @Test func aBadSeedIsRefused() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("sim", "init", "--seed", workspace.write("seed.json", "{\"locations\": 3}"), "--state", workspace.path("sim.json"),
                                       "--tokens-dir", workspace.path("tokens"))
        #expect(result.status == 1)
        result.expectOneSentence()
        #expect(!FileManager.default.fileExists(atPath: workspace.path("sim.json")))
    }

    @Test func aStateInTheOldJSONFormatIsOneSentenceToRerunInit() async throws {
        let workspace = try Workspace()
        let old = #"{"formatVersion": 1, "locations": [], "events": [], "sequence": 1}"#
        let state = try workspace.write("sim.json", old)
        let result = try await workspace.run("sim", "assignments", "--state", state)
        #expect(result.status == 1, "\(result)")
        result.expectOneSentence(containing: "allot sim init")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == old)
    }

    @Test func anUnknownLocationIsRefused() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        for command in [["claim", "--name", "Other MDM"], ["revoke-token"], ["expire-token"], ["set-total", "--app", "361309726", "--total", "1"]] {
            let result = try await workspace.run(arguments: ["sim"] + command + ["--state", workspace.path("sim.json"), "--location", "9999"])
            #expect(result.status == 1, "\(command): \(result)")
            result.expectOneSentence(containing: "9999")
        }
    }

    @Test func assignmentsCarryTheContractFields() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        let assignments = try await workspace.appleAssignments()
        #expect(assignments.count == 2)
        for assignment in assignments {
            #expect(assignment["adamId"] as? String == Workspace.sharedApp)
            #expect(assignment["pricingParam"] as? String == "STDQ")
            #expect(assignment["serialNumber"] is String)
            #expect(assignment["locationUid"] is String)
        }
    }

    @Test func anExpiredTokenSuppliesNoNewLicences() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 12)
        try await workspace.json("sim", "expire-token", "--state", workspace.path("sim.json"), "--location", "1001")
        try await workspace.json("sync", "--tenant", "springfield")
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--json")
        #expect(result.status == 3)
        #expect(try result.json()[object: "counts"]["assigned"] as? Int == 5)
    }
}
