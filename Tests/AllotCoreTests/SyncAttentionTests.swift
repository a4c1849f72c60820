import AllotCore
import Testing

/// Each reason is the advice for the state that produced it (the ladder in `SyncAttention`).
@Suite(.timeLimit(.minutes(5))) struct SyncAttentionTests {
    func read(_ id: Int64, _ state: TokenState, failure: String? = nil, unreachable: Bool = false, over: Int = 0,
              drift: Int = 0) -> SyncAttention.TokenRead {
        SyncAttention.TokenRead(tokenId: TokenID(id), state: state, failure: failure, appleUnreachable: unreachable, overAllocatedApps: over,
                                unrepairedDrift: drift)
    }

    @Test func driftLeftUnrepairedIsAReasonBesideAnyOther() {
        #expect(SyncAttention.reasons([read(1, .active, drift: 2), read(2, .active, drift: 1)]) == [.drift(licences: 3)])
        #expect(SyncAttention.reasons([read(1, .active, over: 1, drift: 1)]) == [.overAllocated(apps: 1), .drift(licences: 1)])
        #expect(SyncAttention.reasons([read(1, .active)]) == [])
    }

    @Test func aTenantWithoutTokensIsToldToAddOne() {
        #expect(SyncAttention.reasons([]) == [.noToken])
    }

    @Test func anActiveTokenReadMeansTheTenantWorksWhateverTheOthers() {
        #expect(SyncAttention.reasons([read(1, .active), read(2, .revoked, failure: "9625"), read(3, .active, failure: "x", unreachable: true)]) == [])
    }

    @Test func activeTokensApplesCouldNotBeReachedForAreNotAdvisedAsDead() {
        let reasons = SyncAttention.reasons([read(1, .active, failure: "could not connect", unreachable: true),
                                             read(2, .active, failure: "could not connect", unreachable: true)])
        #expect(reasons == [.appleUnreachable(failure: "could not connect")])
        #expect(!reasons.contains(.noActiveToken))
    }

    @Test func anUnreachableAppleComesBeforeADeadTokenBesideIt() {
        #expect(SyncAttention.reasons([read(1, .revoked, failure: "9625"), read(2, .active, failure: "timeout", unreachable: true)])
                == [.appleUnreachable(failure: "timeout")])
    }

    @Test func activeTokensThatAppleAnsweredUnusablyAreToSyncAgain() {
        #expect(SyncAttention.reasons([read(1, .active, failure: "malformed"), read(2, .expired, failure: "9621")])
                == [.activeTokensUnread(tokens: [TokenID(1)], failure: "malformed")])
    }

    @Test func onlyWhenNoTokenIsActiveIsTheAdviceToRenewTakeOverOrAdd() {
        #expect(SyncAttention.reasons([read(1, .revoked, failure: "9625"), read(2, .claimedElsewhere)]) == [.noActiveToken])
    }

    @Test func anOverAllocationIsAReasonBesideAnyOther() {
        #expect(SyncAttention.reasons([read(1, .active, over: 2), read(2, .active, over: 1)]) == [.overAllocated(apps: 3)])
        #expect(SyncAttention.reasons([read(1, .revoked, failure: "9625", over: 1)]) == [.noActiveToken, .overAllocated(apps: 1)])
    }
}
