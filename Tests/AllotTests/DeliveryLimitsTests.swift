import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct DeliveryLimitsTests {
    @Test(arguments: AppleTransport.allCases)
    func operationsAreChunkedToApplesLiveSerialLimit(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = 3
        try await world.simulator.setLimits(limits)
        try await world.tenant(devices: 10)
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await world.engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...10))
        // The simulator refuses more than 3 serials a request (9702), so landing proves chunking.
        let report = try await world.engine.push(tenant: "springfield")
        #expect(report.sent == 4)
        #expect(report.failed == 0)
        #expect(try await world.engine.outbox(tenant: "springfield").allSatisfy { $0.serials.count <= 3 })
        #expect(try await world.appleAssignments() == world.ledgerAssignments())
    }

    @Test(arguments: AppleTransport.allCases)
    func aPendingEventIsPolledNoFasterThanTheIntervalAndConfirmedWhenComplete(transport: AppleTransport) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-poll-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.simulator.setPendingPolls(2)
        var settings = EngineSettings()
        settings.pollIntervalSeconds = 30
        settings.paceRequests = false
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let clock = world.clock
        let engine = try Allot(databasePath: folder.appendingPathComponent("poll.sqlite").path, apple: world.apple,
                               secrets: SecretBox(key: world.key), settings: settings, clock: { clock.now })
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.registerDevices(tenant: "springfield", [DeviceInput(serial: World.serial(1))])
        _ = try await engine.addToken(tenant: "springfield", fileContents: world.tokenFile("1001"))
        _ = try await engine.assign(tenant: "springfield", world.items(World.sharedApp, 1...1))

        let first = try await engine.push(tenant: "springfield")
        #expect(first.sent == 1)
        #expect(first.completed == 0)
        #expect(first.unfinished == 1)
        // Within the interval nothing is polled again.
        #expect(try await engine.push(tenant: "springfield").completed == 0)
        for _ in 0..<3 {
            clock.advance(30)
            _ = try await engine.push(tenant: "springfield")
        }
        #expect(try await engine.outbox(tenant: "springfield").allSatisfy { $0.state == .done })
    }

    @Test(arguments: AppleTransport.allCases)
    func tokenFilesAreEncryptedAtRest(transport: AppleTransport) async throws {
        let world = try await World(transport: transport)
        defer { world.cleanUp() }
        try await world.tenant(devices: 1)
        let file = try world.tokenFile("1001")
        _ = try await world.engine.addToken(tenant: "springfield", fileContents: file)
        // Checkpoint the WAL into the main file, then look for the token in every file of the database.
        _ = try world.reopened()
        let names = try FileManager.default.contentsOfDirectory(atPath: world.folder.path).filter { $0.hasPrefix("allot.sqlite") }
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try Data(contentsOf: world.folder.appendingPathComponent(name))
            #expect(bytes.range(of: Data(file.utf8)) == nil, "the token file is stored in clear in \(name)")
            #expect(bytes.range(of: Data(file.prefix(24).utf8)) == nil, "part of the token file is stored in clear in \(name)")
        }
        #expect(try await world.engine.events(tenant: "springfield", limit: 1_000).allSatisfy { !$0.detail.contains(file.prefix(24)) })
    }
}
