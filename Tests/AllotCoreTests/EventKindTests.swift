import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct EventKindTests {
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

    @Test func everyKindsFilterFindsItselfAndNoAliasIsAnotherKind() {
        #expect(EventKind.filterNames("token_state_changed") == ["token_state_changed", "token_claimed", "token_expired", "token_revoked"])
        for kind in EventKind.allCases {
            #expect(EventKind.filterNames(kind.rawValue).contains(kind.rawValue), "a filter by \(kind) finds \(kind)")
            if let alias = kind.licenseSpelling { #expect(EventKind(rawValue: alias) == nil, "\(alias) is not a kind of its own") }
        }
    }
}
