import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// A simulator on real files in a fresh temporary folder, removed when the fixture goes away.
final class SimulatorFixture {
    static let app = WireAssetKey(adamId: "361309726", pricingParam: "STDQ")
    static let fixedApp = WireAssetKey(adamId: "284417350", pricingParam: "STDQ")
    static let book = WireAssetKey(adamId: "1001001001", pricingParam: "STDQ")
    static let mainCampus = "1001"
    static let annex = "1002"

    let directory: URL
    let statePath: URL
    let tokensDirectory: URL
    let simulator: AppleSimulator

    /// Two locations: Main Campus (a revocable app with `appTotal` licences, a non-revocable app,
    /// a book, `extraAssets` more apps) and Annex (the same app, 5 licences).
    init(appTotal: Int = 10, extraAssets: Int = 0, mainExpires: String = "2099-09-01T00:00:00Z",
         mainMDMInfo: String = "null", enforceRequestRate: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        statePath = directory.appendingPathComponent("sim.json")
        tokensDirectory = directory.appendingPathComponent("tokens")
        let extra = (0..<extraAssets).map { n in
            #"{"adamId": "\#(500_000 + n)", "pricingParam": "STDQ", "productType": "App", "total": 1, "deviceAssignable": true, "revocable": true}"#
        }
        let mainAssets = [
            #"{"adamId": "\#(Self.app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": \#(appTotal), "deviceAssignable": true, "revocable": true}"#,
            #"{"adamId": "\#(Self.fixedApp.adamId)", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": false}"#,
            #"{"adamId": "\#(Self.book.adamId)", "pricingParam": "STDQ", "productType": "Book", "total": 10, "deviceAssignable": false, "revocable": true}"#,
        ] + extra
        let seed = """
        {"locations": [
          {"uId": "\(Self.mainCampus)", "locationName": "Main Campus", "orgName": "Springfield Schools",
           "expires": "\(mainExpires)", "mdmInfo": \(mainMDMInfo), "assets": [\(mainAssets.joined(separator: ","))]},
          {"uId": "\(Self.annex)", "locationName": "Annex", "orgName": "Springfield Schools",
           "expires": "2099-09-01T00:00:00Z",
           "assets": [{"adamId": "\(Self.app.adamId)", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]}
        ]}
        """
        // These tests call the service back to back, far above Apple's request rate, to check
        // other rules: they opt out of its enforcement (on by default, which `RequestRateTests` checks).
        simulator = try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: statePath, tokensDirectory: tokensDirectory,
                                                  enforceRequestRate: enforceRequestRate)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func tokenFile(_ uId: String) -> URL {
        AppleSimulator.tokenFileURL(location: uId, tokensDirectory: tokensDirectory)
    }

    /// The token as an engine would send it: the file's content, trimmed.
    func token(_ uId: String = mainCampus) throws -> String {
        try String(contentsOf: tokenFile(uId), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func serials(_ count: Int, prefix: String = "C02") -> [String] {
        (0..<count).map { "\(prefix)\(String(format: "%06d", $0))" }
    }

    /// Polls until the event is no longer PENDING, within a bound.
    func finish(_ eventId: String, token: String, pollsMax: Int = 20) async throws -> EventStatus {
        for _ in 0..<pollsMax {
            let status = try await simulator.eventStatus(token: token, eventId: eventId)
            if status.eventStatus != "PENDING" { return status }
        }
        Issue.record("event \(eventId) still PENDING after \(pollsMax) polls")
        return try await simulator.eventStatus(token: token, eventId: eventId)
    }

    func assign(_ assets: [WireAssetKey], _ serials: [String], uId: String = mainCampus) async throws -> EventStatus {
        let token = try token(uId)
        let event = try await simulator.associate(token: token, AssociationRequest(assets: assets, serialNumbers: serials))
        return try await finish(event.eventId, token: token)
    }

    func asset(_ key: WireAssetKey, uId: String = mainCampus) async throws -> WireAsset {
        let page = try await simulator.assets(token: token(uId), query: AssetsQuery(adamId: key.adamId, pricingParam: key.pricingParam))
        return try #require(page.assets.first)
    }
}

/// The Apple error a call threw, or a recorded issue if it threw something else or nothing.
func appleError<T>(_ call: () async throws -> T) async -> AppleServiceError? {
    do {
        _ = try await call()
        Issue.record("expected an Apple error, the call succeeded")
        return nil
    } catch let error as AppleServiceError {
        return error
    } catch {
        Issue.record("expected an Apple error, got \(error)")
        return nil
    }
}
