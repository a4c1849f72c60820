import AllotCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct UnknownAppRuleTests {
    let known = AssetKey(adamId: "361309726")
    let typo = AssetKey(adamId: "999999")

    @Test func aBatchWhoseOnlyAppNoTokenHasIsRefusedNamingIt() throws {
        let refusal = try #require(UnknownAppRule.refusal(requested: [typo], known: [], direction: .assign))
        #expect(refusal.code == .unknownApp)
        #expect(refusal.subject == .unknownApp([typo]))
        #expect(refusal.message.hasPrefix("app 999999:STDQ is in none of this tenant's tokens, so nothing was assigned; "))
        #expect(refusal.message.contains("the tenant's apps"), "says where to look")
        #expect(!refusal.message.contains("allot ") && !refusal.message.contains("/v1/"), "names no command or route: each face adds its own")
        let revoke = try #require(UnknownAppRule.refusal(requested: [typo], known: [], direction: .revoke))
        #expect(revoke.message.contains("so nothing was revoked"))
    }

    @Test func aBatchWithAKnownAppGoesOnAndItsOtherItemsAnswerPerItem() {
        #expect(UnknownAppRule.refusal(requested: [known], known: [known], direction: .assign) == nil)
        #expect(UnknownAppRule.refusal(requested: [known, typo], known: [known], direction: .assign) == nil)
        #expect(UnknownAppRule.refusal(requested: [], known: [], direction: .assign) == nil, "an empty batch is refused elsewhere")
    }

    @Test func manyUnknownAppsAreNamedUpToTheBoundAndCounted() throws {
        let apps = Set((1...8).map { AssetKey(adamId: String(100 + $0)) })
        let refusal = try #require(UnknownAppRule.refusal(requested: apps, known: [known], direction: .assign))
        #expect(refusal.message.hasPrefix("apps 101:STDQ, 102:STDQ, 103:STDQ, 104:STDQ, 105:STDQ and 3 more are in none"))
    }

    @Test func aMistypedIdIsAnsweredWithTheTenantsNearestApp() throws {
        let book = AssetKey(adamId: "1448295111")
        let dropped = AssetKey(adamId: "36130972")
        let refusal = try #require(UnknownAppRule.refusal(requested: [dropped], known: [], direction: .assign, existing: [book, known]))
        #expect(refusal.message.hasPrefix("app 36130972:STDQ is in none of this tenant's tokens (did you mean 361309726:STDQ?), so nothing was assigned; "))
        let far = try #require(UnknownAppRule.refusal(requested: [typo], known: [], direction: .assign, existing: [book, known]))
        #expect(!far.message.contains("did you mean"), "no app is near 999999: \(far.message)")
    }
}
