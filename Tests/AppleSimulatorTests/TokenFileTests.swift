import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Testing

/// The token files `sim init` writes must look exactly like Apple's.
@Suite(.timeLimit(.minutes(5))) struct TokenFileTests {
    /// Decodes a token file the way a third party would, without the simulator's or the engine's code.
    static func decoded(_ content: String) throws -> [String: Any] {
        let json = try #require(Data(base64Encoded: content))
        return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }

    @Test func seedWritesOneTokenFilePerLocationWithExactlyAppleKeys() throws {
        let fixture = try SimulatorFixture()
        for uId in [SimulatorFixture.mainCampus, SimulatorFixture.annex] {
            let fields = try Self.decoded(fixture.token(uId))
            #expect(Set(fields.keys) == ["token", "expDate", "orgName"])
            #expect(fields["orgName"] as? String == "Springfield Schools")
            #expect((fields["token"] as? String)?.isEmpty == false)
        }
    }

    @Test func expDateHasAppleFormWithNumericOffsetWithoutColon() throws {
        let fixture = try SimulatorFixture()
        let fields = try Self.decoded(fixture.token())
        #expect(fields["expDate"] as? String == "2099-09-01T00:00:00+0000")
    }

    @Test func tokenFileHoldsOnlyTheBase64StringWithoutNewline() throws {
        let fixture = try SimulatorFixture()
        let raw = try String(contentsOf: fixture.tokenFile(SimulatorFixture.mainCampus), encoding: .utf8)
        #expect(raw == raw.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Data(base64Encoded: raw) != nil)
    }

    @Test func everyLocationGetsADifferentSecret() throws {
        let fixture = try SimulatorFixture()
        let main = try Self.decoded(fixture.token(SimulatorFixture.mainCampus))["token"] as? String
        let annex = try Self.decoded(fixture.token(SimulatorFixture.annex))["token"] as? String
        #expect(main != annex)
    }

    @Test func formatExpirationDateWritesUTCWithPlusZeroZeroZeroZero() {
        // 2027-06-30T22:33:22Z
        let date = Date(timeIntervalSince1970: 1_814_394_802)
        #expect(VPPTokenFileFormat.formatExpirationDate(date) == "2027-06-30T22:33:22+0000")
    }

    @Test func seedWithADeviceAssignableBookIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-sim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let seed = #"{"locations": [{"uId": "1", "locationName": "L", "orgName": "O", "expires": "2099-01-01T00:00:00Z", "assets": [{"adamId": "1", "pricingParam": "STDQ", "productType": "Book", "total": 1, "deviceAssignable": true, "revocable": true}]}]}"#
        #expect(throws: AppleSimulatorError.self) {
            try AppleSimulator.initialize(seed: Data(seed.utf8), statePath: directory.appendingPathComponent("s.json"),
                                          tokensDirectory: directory)
        }
    }
}
