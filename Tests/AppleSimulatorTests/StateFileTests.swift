import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// The state in SQLite: the old JSON format and foreign files are refused with one sentence;
/// instances with their own connections write at the same time without losing anything.
@Suite(.timeLimit(.minutes(5))) struct StateFileTests {
    func refusal(_ contents: Data) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("sim.json")
        try contents.write(to: path)
        do {
            _ = try AppleSimulator(statePath: path)
            Issue.record("a foreign state file was opened")
            return ""
        } catch let error as AppleSimulatorError {
            // Nothing was changed: the file is as it was.
            #expect(try Data(contentsOf: path) == contents)
            return error.description
        }
    }

    @Test func aStateInTheOldJSONFormatAsksToRerunSimInit() throws {
        let message = try refusal(Data(#"{"formatVersion": 1, "locations": [], "events": [], "sequence": 1}"#.utf8))
        #expect(message.contains("old JSON format"))
        #expect(message.contains("allot sim init"))
    }

    @Test func aFileThatIsNoStateIsRefused() throws {
        let message = try refusal(Data("hello".utf8))
        #expect(message.contains("not a simulator state"))
    }

    @Test func initReplacesAnOldJSONState() async throws {
        let fixture = try SimulatorFixture()
        try Data(#"{"formatVersion": 1}"#.utf8).write(to: fixture.statePath)
        let seed = #"{"locations": [{"uId": "9", "locationName": "L", "orgName": "O", "expires": "2099-01-01T00:00:00Z", "assets": []}]}"#
        let simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: fixture.statePath, tokensDirectory: fixture.tokensDirectory)
        let token = try String(contentsOf: AppleSimulator.tokenFileURL(location: "9", tokensDirectory: fixture.tokensDirectory), encoding: .utf8)
        #expect(try await simulator.clientConfig(token: token).uId == "9")
    }

    @Test func instancesWritingAtOnceLoseNothing() async throws {
        let fixture = try SimulatorFixture(appTotal: 1_000)
        let others = try (0..<3).map { _ in try AppleSimulator(statePath: fixture.statePath) }
        let token = try fixture.token()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, simulator) in ([fixture.simulator] + others).enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        let serials = (0..<10).map { "I\(index)R\(round)S\($0)" }
                        let event = try await simulator.associate(token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: serials))
                        _ = try await simulator.eventStatus(token: token, eventId: event.eventId)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await fixture.simulator.allAssignments(location: SimulatorFixture.mainCampus).count == 400)
        #expect(try await fixture.asset(SimulatorFixture.app).assignedCount == 400)
    }
}
