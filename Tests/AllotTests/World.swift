import Allot
import AllotStore
import AllotCore
import AppleAppsAndBooks
import AppleHTTPClient
import AppleSimulator
import AppleSimulatorServer
import Crypto
import Foundation
import Synchronization

/// A clock tests can move forward (backoff, expiry, polling).
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Int64 = Int64(Date().timeIntervalSince1970)) { seconds = Mutex(start) }
    var now: Int64 { seconds.withLock { $0 } }
    func advance(_ delta: Int64) { seconds.withLock { $0 += delta } }
}

/// How the engine reaches the simulator: the Apple-side tests run once each way, with the same
/// assertions.
enum AppleTransport: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The simulator actor in this process.
    case inProcess
    /// `AppleHTTPClient` against the simulator served on an ephemeral loopback port.
    case http

    var description: String { rawValue }
}

/// A temporary world: a simulator seeded with locations, its token files, and an engine on a
/// fresh SQLite file, cleaned up when the test ends.
struct World {
    let folder: URL
    /// The simulator itself, for the world changing behind Apple's API (control operations) and
    /// for reading Apple's truth.
    let simulator: AppleSimulator
    /// What the engine talks to: the simulator, or an HTTP client of the served simulator.
    let apple: any AppsAndBooksService
    /// The server, when `transport` is `.http`; stopped by `cleanUp`.
    let served: ServedSimulator?
    let clock: TestClock
    let engine: Allot
    /// The ledger: a SQLite file in `folder`, or a PostgreSQL database's URL.
    let database: String
    let key = SymmetricKey(size: .bits256)

    static let sharedApp = AssetKey(adamId: "361309726")
    static let mainOnlyApp = AssetKey(adamId: "409183694")

    /// Two locations that share an app (10 + 5 licences); Main also has an app of its own.
    static let twoLocationSeed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true},
                      {"adamId": "409183694", "pricingParam": "STDQ", "productType": "App", "total": 3, "deviceAssignable": true, "revocable": true}]},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]},
          {"uId": "2001", "locationName": "Empty Annex", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 0, "deviceAssignable": true, "revocable": true}]},
          {"uId": "3001", "locationName": "Configurator Lab", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z",
           "mdmInfo": {"id": "ac2-7f1e", "name": "Apple Configurator 2", "metadata": "2.17"},
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 4, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    init(seed: String = World.twoLocationSeed, transport: AppleTransport = .inProcess, database: String? = nil) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-world-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The engine runs unpaced here (`paceRequests = false`), for speed: the simulator must
        // not hold it to Apple's request rate, which it enforces by default.
        simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: folder.appendingPathComponent("sim.json"),
                                                  tokensDirectory: folder.appendingPathComponent("tokens"), enforceRequestRate: false)
        switch transport {
        case .inProcess:
            served = nil
            apple = simulator
        case .http:
            let served = try await ServedSimulator.start(simulator: simulator)
            self.served = served
            // The engine keeps its own 5-minute cache of Apple's limits on the test clock; a
            // second cache here would make the two transports count calls differently.
            apple = AppleHTTPClient(baseURL: served.baseURL, timeout: .seconds(20), serviceConfigRefreshSeconds: 0)
        }
        clock = TestClock()
        self.database = database ?? folder.appendingPathComponent("allot.sqlite").path
        engine = try World.openEngine(database: self.database, apple: apple, clock: clock, key: key)
    }

    static func openEngine(database: String, apple: any AppsAndBooksService, clock: TestClock, key: SymmetricKey) throws -> Allot {
        var settings = EngineSettings()
        settings.pollIntervalSeconds = 0
        settings.paceRequests = false
        let clock = clock
        return try Allot(databasePath: database, apple: apple,
                         secrets: SecretBox(key: key), settings: settings, clock: { clock.now })
    }

    /// A second engine on the same database: what a restart after a crash sees, or a second
    /// node (its own worker name on the leases).
    func reopened() throws -> Allot { try World.openEngine(database: database, apple: apple, clock: clock, key: key) }

    func tokenFile(_ uId: String) throws -> String {
        try String(contentsOf: AppleSimulator.tokenFileURL(location: uId, tokensDirectory: folder.appendingPathComponent("tokens")), encoding: .utf8)
    }

    func renewedTokenFile(_ uId: String) async throws -> String {
        let url = try await simulator.renewToken(location: uId, tokensDirectory: folder.appendingPathComponent("tokens"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// A tenant with devices SER00000001… registered.
    func tenant(_ slug: String = "springfield", devices: Int) async throws {
        _ = try await engine.createTenant(slug: slug)
        let inputs = (1...max(devices, 1)).map { DeviceInput(serial: World.serial($0, prefix: slug)) }
        _ = try await engine.registerDevices(tenant: slug, Array(inputs.prefix(devices)))
    }

    static func serial(_ index: Int, prefix: String = "springfield") -> SerialNumber {
        let letters = String(prefix.uppercased().filter(\.isLetter).prefix(3)).padding(toLength: 3, withPad: "X", startingAt: 0)
        let digits = String(index)
        return SerialNumber(letters + String(repeating: "0", count: max(0, 8 - digits.count)) + digits)!
    }

    func items(_ app: AssetKey, _ range: ClosedRange<Int>, prefix: String = "springfield") -> [BatchItem] {
        range.map { BatchItem(asset: app, serial: World.serial($0, prefix: prefix).value) }
    }

    /// Apple's assignments as (app, serial, location), to compare with the ledger's.
    func appleAssignments() async throws -> Set<String> {
        Set(try await simulator.allAssignments().map { "\($0.adamId):\($0.pricingParam) \($0.serialNumber) \($0.locationUid)" })
    }

    /// The ledger's assignments in the same form.
    func ledgerAssignments(_ slug: String = "springfield") async throws -> Set<String> {
        let engine = self.engine
        return try await engine.ledgerAssignmentsForTests(tenant: slug)
    }

    func cleanUp() {
        served?.stopSoon()
        try? FileManager.default.removeItem(at: folder)
    }
}
