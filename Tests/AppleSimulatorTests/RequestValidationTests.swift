import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// Synchronous refusals: HTTP 400, no event, nothing changed.
@Suite(.timeLimit(.minutes(5))) struct RequestValidationTests {
    let fixture: SimulatorFixture
    let token: String

    init() throws {
        fixture = try SimulatorFixture(extraAssets: 30)
        token = try fixture.token()
    }

    func associateError(_ request: AssociationRequest) async -> AppleServiceError? {
        await appleError { try await fixture.simulator.associate(token: token, request) }
    }

    static func extraAssets(_ count: Int) -> [WireAssetKey] {
        (0..<count).map { WireAssetKey(adamId: "\(500_000 + $0)", pricingParam: "STDQ") }
    }

    @Test func moreThanMaxAssetsAnswers9700() async throws {
        let error = await associateError(AssociationRequest(assets: Self.extraAssets(26), serialNumbers: ["S1"]))
        #expect(error?.errorNumber == 9700)
        #expect(error?.httpStatus == 400)
        let ok = try await fixture.simulator.associate(token: token, AssociationRequest(assets: Self.extraAssets(25), serialNumbers: ["S1"]))
        #expect(!ok.eventId.isEmpty)
    }

    @Test func moreThanMaxSerialNumbersAnswers9702() async throws {
        let error = await associateError(AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: SimulatorFixture.serials(1001)))
        #expect(error?.errorNumber == 9702)
        let disassociate = await appleError {
            try await fixture.simulator.disassociate(token: token, AssociationRequest(assets: [SimulatorFixture.app],
                                                                                      serialNumbers: SimulatorFixture.serials(1001)))
        }
        #expect(disassociate?.errorNumber == 9702)
    }

    @Test func revokingMoreThanMaxRevokeSerialNumbersAnswers9702() async throws {
        let error = await appleError {
            try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: SimulatorFixture.serials(101)))
        }
        #expect(error?.errorNumber == 9702)
        #expect(error?.httpStatus == 400)
        _ = try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: SimulatorFixture.serials(100)))
    }

    @Test func limitsSetOnTheSimulatorAreServedAndEnforced() async throws {
        var limits = ServiceLimits.appleDefaults
        limits.maxSerialNumbers = 2
        try await fixture.simulator.setLimits(limits)
        let config = try await fixture.simulator.serviceConfig()
        #expect(config.limits.maxSerialNumbers == 2)
        #expect(config.errorCodes.contains { $0.errorNumber == 9709 })
        let error = await associateError(AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: SimulatorFixture.serials(3)))
        #expect(error?.errorNumber == 9702)
    }

    @Test func duplicateAssetsAnswer9703() async throws {
        let error = await associateError(AssociationRequest(assets: [SimulatorFixture.app, SimulatorFixture.app], serialNumbers: ["S1"]))
        #expect(error?.errorNumber == 9703)
        #expect(error?.httpStatus == 400)
    }

    @Test func duplicateSerialNumbersAnswer9705() async throws {
        let error = await associateError(AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1", "S2", "S1"]))
        #expect(error?.errorNumber == 9705)
        let revoke = await appleError { try await fixture.simulator.revoke(token: token, RevokeRequest(serialNumbers: ["S1", "S1"])) }
        #expect(revoke?.errorNumber == 9705)
    }

    @Test func bookToADeviceAnswers9707AndRefusesTheWholeRequest() async throws {
        let error = await associateError(AssociationRequest(assets: [SimulatorFixture.app, SimulatorFixture.book], serialNumbers: ["S1"]))
        #expect(error?.errorNumber == 9707)
        #expect(error?.httpStatus == 400)
        let assignments = try await fixture.simulator.allAssignments()
        #expect(assignments.isEmpty)
    }

    @Test func serialsAndClientUserIdsTogetherOrNeitherAnswer9602() async throws {
        let both = await associateError(AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["S1"], clientUserIds: ["u1"]))
        #expect(both?.errorNumber == 9602)
        let neither = await associateError(AssociationRequest(assets: [SimulatorFixture.app]))
        #expect(neither?.errorNumber == 9602)
        let revokeNeither = await appleError { try await fixture.simulator.revoke(token: token, RevokeRequest()) }
        #expect(revokeNeither?.errorNumber == 9602)
    }

    @Test func assetUnknownToTheLocationAnswers9602() async throws {
        let error = await associateError(AssociationRequest(assets: [WireAssetKey(adamId: "999", pricingParam: "STDQ")], serialNumbers: ["S1"]))
        #expect(error?.errorNumber == 9602)
        #expect(error?.classification == .ourBug)
    }

    @Test func claimWithIncompleteOrTooLongMDMInfoAnswers9723() async throws {
        let bad = [
            MDMInfo(id: "", name: "allot", metadata: "1.0"),
            MDMInfo(id: "id", name: "", metadata: "1.0"),
            MDMInfo(id: "id", name: "allot", metadata: ""),
            MDMInfo(id: String(repeating: "i", count: 101), name: "allot", metadata: "1.0"),
            MDMInfo(id: "id", name: String(repeating: "n", count: 101), metadata: "1.0"),
            MDMInfo(id: "id", name: "allot", metadata: String(repeating: "m", count: 256)),
        ]
        for info in bad {
            let error = await appleError { try await fixture.simulator.updateClientConfig(token: token, ClientConfigRequest(mdmInfo: info)) }
            #expect(error?.errorNumber == 9723)
            #expect(error?.httpStatus == 400)
        }
        let longest = MDMInfo(id: String(repeating: "i", count: 100), name: String(repeating: "n", count: 100),
                              metadata: String(repeating: "m", count: 255))
        let config = try await fixture.simulator.updateClientConfig(token: token, ClientConfigRequest(mdmInfo: longest))
        #expect(config.mdmInfo == longest)
    }
}
