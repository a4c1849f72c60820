import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct TokenLifeMachineTests {
    @Test func appleAnswersKillAnActiveToken() {
        #expect(TokenLife.next(.active, on: .expired) == .expired)
        #expect(TokenLife.next(.active, on: .revokedByApple) == .revoked)
        #expect(TokenLife.next(.active, on: .rejected) == .invalid)
        #expect(TokenLife.next(.active, on: .claimedElsewhere) == .claimedElsewhere)
    }

    @Test func aRemovedTokenOnlyDrains() {
        for event in [TokenEvent.expired, .revokedByApple, .rejected, .claimedElsewhere, .reclaimed, .renewed, .takenOver, .removed] {
            #expect(TokenLife.next(.removed, on: event) == nil)
        }
    }

    @Test func renewalAndTakeOverBringATokenBackWhateverKilledIt() {
        for state in TokenState.allCases where state != .removed {
            #expect(TokenLife.next(state, on: .renewed) == (state == .active ? nil : .active))
            #expect(TokenLife.next(state, on: .takenOver) == (state == .active ? nil : .active))
        }
    }

    @Test func onlyAClaimedTokenIsClaimedBack() {
        #expect(TokenLife.next(.claimedElsewhere, on: .reclaimed) == .active)
        for state in [TokenState.active, .expired, .revoked, .invalid] {
            #expect(TokenLife.next(state, on: .reclaimed) == nil)
        }
    }

    @Test func anEventThatChangesNothingSaysSo() {
        #expect(TokenLife.next(.expired, on: .expired) == nil)
        #expect(TokenLife.next(.claimedElsewhere, on: .claimedElsewhere) == nil)
    }

    @Test func onlyActiveAndRemovedTokensDeliverToApple() {
        #expect(TokenState.allCases.filter(\.deliversToApple) == [.active, .removed])
    }
}
