@testable import AppleHTTPClient
import AppleAppsAndBooks
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct RequestBodyJSONTests {
    @Test func associationBodiesDecodeToTheRequestSent() throws {
        let request = AssociationRequest(assets: [WireAssetKey(adamId: "361309726", pricingParam: "STDQ")],
                                         serialNumbers: ["C02ABC", "quote\"back\\slash", "tab\tnewline\n\u{01}", "é☃"])
        let decoded = try JSONDecoder().decode(AssociationRequest.self, from: RequestBodyJSON.association(request))
        #expect(decoded == request)
        let users = AssociationRequest(assets: [WireAssetKey(adamId: "1", pricingParam: "PLUS"), WireAssetKey(adamId: "2", pricingParam: "STDQ")],
                                       clientUserIds: ["u1"])
        #expect(try JSONDecoder().decode(AssociationRequest.self, from: RequestBodyJSON.association(users)) == users)
    }

    @Test func revokeBodiesDecodeToTheRequestSent() throws {
        for request in [RevokeRequest(serialNumbers: ["A", "B"]), RevokeRequest(clientUserIds: ["u"]), RevokeRequest()] {
            #expect(try JSONDecoder().decode(RevokeRequest.self, from: RequestBodyJSON.revoke(request)) == request)
        }
    }
}
