import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct SerialNumberTests {
    @Test func serialsAreTrimmedAndUppercased() {
        #expect(SerialNumber("  c02abc12def3 \t")?.value == "C02ABC12DEF3")
    }

    @Test(arguments: ["", "SHORT12", "ABCDEFGHIJKLMNO", "C02-ABC12", "C02ABC12DE'; DROP TABLE devices;--", "DMPXÄ1234"])
    func malformedSerialsAreRefusedWithAReason(raw: String) {
        #expect(SerialNumber(raw) == nil)
        #expect(!SerialNumber.problem(with: raw).isEmpty)
    }

    @Test func boundaryLengthsAreAccepted() {
        #expect(SerialNumber("ABCDEFGH") != nil)
        #expect(SerialNumber("ABCDEFGHIJKLMN") != nil)
    }
}

@Suite(.timeLimit(.minutes(5))) struct AssetKeyTests {
    @Test func pricingDefaultsToStandard() {
        #expect(AssetKey(parsing: "361309726") == AssetKey(adamId: "361309726", pricingParam: .standard))
        #expect(AssetKey(parsing: "361309726:plus") == AssetKey(adamId: "361309726", pricingParam: .plus))
    }

    @Test(arguments: ["", "abc", "123:XYZ", "12:STDQ:PLUS", "1 2"])
    func malformedAppsAreRefused(text: String) {
        #expect(AssetKey(parsing: text) == nil)
    }
}
