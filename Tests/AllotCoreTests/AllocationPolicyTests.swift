import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct AllocationPolicyTests {
    let early = PoolCandidate(tokenId: TokenID(1), available: 5, expiresAt: 1_000, priority: 2)
    let late = PoolCandidate(tokenId: TokenID(2), available: 3, expiresAt: 2_000, priority: 1)
    let empty = PoolCandidate(tokenId: TokenID(3), available: 0, expiresAt: 3_000, priority: 0)

    @Test func mostAvailableTakesTheTokenWithMostFreeLicences() {
        #expect(AllocationPolicy.mostAvailable.choose(from: [early, late, empty]) == 0)
    }

    @Test func latestExpiryTakesTheTokenThatLivesLongest() {
        #expect(AllocationPolicy.latestExpiry.choose(from: [early, late, empty]) == 1)
    }

    @Test func priorityFollowsTheAdminsOrder() {
        #expect(AllocationPolicy.priority.choose(from: [early, late, empty]) == 1)
    }

    @Test func aTokenWithNoFreeLicenceIsNeverChosen() {
        for policy in AllocationPolicy.allCases {
            #expect(policy.choose(from: [empty]) == nil)
        }
    }

    @Test func tiesAreBrokenByLowestIdWhateverTheOrder() {
        let a = PoolCandidate(tokenId: TokenID(7), available: 4, expiresAt: 100, priority: 0)
        let b = PoolCandidate(tokenId: TokenID(4), available: 4, expiresAt: 100, priority: 0)
        for policy in AllocationPolicy.allCases {
            #expect(policy.choose(from: [a, b]) == 1)
            #expect(policy.choose(from: [b, a]) == 0)
        }
    }
}
