import AllotCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct EventKindTests {
    @Test func applesSpellingNamesTheSameKindsAsTheFirstOne() {
        #expect(EventKind(named: "licenses_low") == .licencesLow)
        #expect(EventKind(named: "licenses_released") == .licencesReleased)
        #expect(EventKind(named: "licences_low") == .licencesLow)
        #expect(EventKind(named: "licenses_lo") == nil)
        #expect(EventKind.filterNames("licenses_low") == ["licences_low", "licenses_low"])
        #expect(EventKind.filterNames("licences_released") == ["licences_released", "licenses_released"])
        #expect(EventKind.filterNames("over_allocation") == ["over_allocated", "over_allocation"])
        #expect(EventKind.filterNames("assign_batch") == ["assign_batch"])
    }

    @Test func everyKindHasAtMostTwoNamesAndNoAliasIsAnotherKind() {
        for kind in EventKind.allCases {
            #expect(EventKind.filterNames(kind.rawValue).count <= 2, "the ledger's filter takes two names: \(kind)")
            if let alias = kind.licenseSpelling { #expect(EventKind(rawValue: alias) == nil, "\(alias) is not a kind of its own") }
        }
    }
}
