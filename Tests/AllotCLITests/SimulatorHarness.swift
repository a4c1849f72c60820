import Foundation
import Testing

extension Workspace {
    /// Two locations sharing an app (10 + 5 licences), a book, a location Apple Configurator
    /// holds, and one for another organisation.
    static let seed = """
        {"locations": [
          {"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools", "expires": "2027-09-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10, "deviceAssignable": true, "revocable": true},
                      {"adamId": "1448295111", "pricingParam": "STDQ", "productType": "Book", "total": 30, "deviceAssignable": false, "revocable": false}]},
          {"uId": "1002", "locationName": "North Campus", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z", "mdmInfo": null,
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 5, "deviceAssignable": true, "revocable": true}]},
          {"uId": "3001", "locationName": "Configurator Lab", "orgName": "Springfield Schools", "expires": "2027-10-01T00:00:00Z",
           "mdmInfo": {"id": "ac2-7f1e", "name": "Apple Configurator 2", "metadata": "2.17"},
           "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 4, "deviceAssignable": true, "revocable": true}]}
        ]}
        """

    static let sharedApp = "361309726"
    static let book = "1448295111"

    /// Creates a simulated Apple from `seed` and points every later run at it.
    func simulator(seed: String = Workspace.seed, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let seedPath = try write("seed.json", seed)
        let result = try await run("sim", "init", "--seed", seedPath, "--state", path("sim.json"), "--tokens-dir", path("tokens"))
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        environment["ALLOT_APPLE"] = "sim:" + path("sim.json")
    }

    func tokenFile(_ uId: String) -> String { path("tokens/\(uId).vpptoken") }

    /// The simulator, a tenant with `devices` devices, and the two locations' tokens added.
    func world(devices: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await simulator(sourceLocation: sourceLocation)
        try await tenantWithDevices(count: devices)
        for uId in ["1001", "1002"] {
            let added = try await run("token", "add", "--tenant", "springfield", tokenFile(uId))
            #expect(added.status == 0, "\(added)", sourceLocation: sourceLocation)
        }
    }

    /// Apple's assignments, as the simulator holds them.
    func appleAssignments(location: String? = nil) async throws -> [[String: Any]] {
        try await json(arguments: ["sim", "assignments", "--state", path("sim.json")] + (location.map { ["--location", $0] } ?? []))[array: "assignments"]
    }

    func json(arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let result = try await run(arguments: arguments + ["--json"])
        #expect(result.status == 0, "\(arguments.joined(separator: " ")) failed: \(result)", sourceLocation: sourceLocation)
        return try result.json(sourceLocation: sourceLocation)
    }

    /// The merged pool of the shared app.
    func sharedPool() async throws -> [String: Any] {
        try await json("apps", "--tenant", "springfield")[array: "apps"].first { $0["adamId"] as? String == Self.sharedApp } ?? [:]
    }
}
