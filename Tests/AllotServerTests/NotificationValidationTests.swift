import Allot
import AllotStore
import AllotCore
import AllotServer
import Crypto
import Foundation
import TestDeadlines
import Testing

/// Issue 28.4 over real HTTP on loopback: notifications with the token's valid bearer but
/// values outside Apple's types and ranges are refused with 400, never queued and dropped;
/// a count change no pool can hold is not applied, is recorded, and the token is synced.
@Suite(.timeLimit(.minutes(1))) struct NotificationValidationTests {
    let box = SecretBox(key: SymmetricKey(size: .bits256))

    func engine(_ world: ServerWorld) throws -> Allot {
        var settings = EngineSettings()
        settings.paceRequests = false
        settings.pollIntervalSeconds = 0
        return try Allot(databasePath: world.databasePath, apple: world.simulator, secrets: box, settings: settings)
    }

    @Test func valuesOutsideApplesTypesAndRangesAreRefusedAndTheTokenIsSyncedInstead() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let engine = try engine(world)
        _ = try await engine.createTenant(slug: "springfield")
        // The token is read before its receiver exists; then Apple's total moves without a
        // notification, so only a sync can bring the ledger's 10 to 12.
        let token = try await engine.addToken(tenant: "springfield", fileContents: try world.tokenFile("1001"))
        try await world.simulator.setTotal(location: "1001", adamId: "361309726", pricingParam: "STDQ", total: 12)
        @Sendable func total() async throws -> Int? { try await engine.apps(tenant: "springfield").first { $0.adamId == "361309726" }?.total }
        #expect(try await total() == 10)

        try await withLiveServer(world, engine: engine) { live in
            try await engine.receiveNotifications(publicURL: live.base)
            try await engine.configureReceivers()
            let sealed = try #require(try Ledger(path: world.databasePath).notificationReceiver(token: token.id)).sealedAuthToken
            let bearer = [("Authorization", "Bearer " + (try box.open(sealed))), ("Content-Type", "application/json")]
            let path = "/apple/notifications/\(token.id.rawValue)"
            func post(_ id: String, _ type: String, _ notification: String) async throws -> Reply {
                let body = #"{"notificationType": "\#(type)", "notificationId": "\#(id)", "uId": "1001", "notification": \#(notification)}"#
                return try await live.send(.POST, path, body: Array(body.utf8), headers: bearer)
            }
            func count(_ delta: String) -> String { #"{"adamId": "361309726", "pricingParam": "STDQ", "countDelta": \#(delta)}"# }

            let outOfRange = ["-9223372036854775808", "9223372036854775807", "10000001", "-10000001"]
            for (index, delta) in outOfRange.enumerated() {
                let reply = try await post("range-\(index)", "ASSET_COUNT", count(delta))
                #expect(reply.status == 400, "\(delta): \(reply.text)")
                #expect(reply.code == "count_out_of_range", "\(delta): \(reply.text)")
            }
            // Apple retries a refused notification: the same id is refused again, recorded once.
            #expect(try await post("range-0", "ASSET_COUNT", count(outOfRange[0])).code == "count_out_of_range")

            let mistyped = [count(#""5""#), count("1.5"), count("1e30"), count("9223372036854775808"), count("-9223372036854775809"),
                            count("true"), count("null"), #"{"adamId": "361309726", "pricingParam": "STDQ"}"#,
                            #"{"adamId": "not-an-id", "pricingParam": "STDQ", "countDelta": 1}"#,
                            #"{"adamId": "361309726", "pricingParam": "FREE", "countDelta": 1}"#, "[]", #""x""#]
            for (index, notification) in mistyped.enumerated() {
                let reply = try await post("type-\(index)", "ASSET_COUNT", notification)
                #expect(reply.status == 400, "\(notification): \(reply.status) \(reply.text)")
                #expect(reply.code == "invalid_input", "\(notification)")
                #expect((reply.json["message"] as? String)?.contains("\n") == false)
            }
            for (index, notification) in [#"{"eventId": "e1", "type": "STEAL", "result": "SUCCESS"}"#,
                                          #"{"eventId": "e1", "type": "ASSOCIATE", "result": 1}"#,
                                          #"{"eventId": "", "type": "ASSOCIATE", "result": "SUCCESS"}"#].enumerated() {
                let reply = try await post("event-\(index)", "ASSET_MANAGEMENT", notification)
                #expect(reply.status == 400, "\(notification): \(reply.text)")
                #expect(reply.code == "invalid_input")
            }

            // The sync queued in place of the refused counts read Apple's 12; nothing was applied.
            #expect(try await TestDeadlines.eventually(10) { try await total() == 12 }, "the token was synced")
            let kinds = try await engine.events(tenant: "springfield", limit: 1_000).map(\.kind)
            #expect(kinds.count { $0 == "apple_count_refused" } == outOfRange.count, "\(kinds)")
            #expect(!kinds.contains("apple_count_changed"))
            #expect(!kinds.contains("over_allocated"), "no false alert")

            // A count in range still moves the pool.
            #expect(try await post("good-1", "ASSET_COUNT", count("-2")).status == 200)
            #expect(try await TestDeadlines.eventually(10) { try await total() == 10 })
        }
    }
}
