import AllotServer
import Foundation
import Testing

/// Boolean query values (`dryRun`, `takeover`, `cleanUp`) over HTTP on loopback: exactly `true`
/// or `false`, once; anything else is one sentence naming the parameter, and nothing changes.
@Suite(.timeLimit(.minutes(5))) struct QueryFlagTests {
    /// What a lenient server once read as true (`yes`, `1`, a bare flag), and other guesses.
    static let refusedValues = ["dryRun=yes", "dryRun=1", "dryRun", "dryRun=", "dryRun=TRUE", "dryRun=no", "dryRun=0",
                                "dryRun=true&dryRun=true", "dryRun=true&dryRun=false"]

    @Test func aFlagOtherThanTrueOrFalseIsRefusedAndChangesNothing() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let mainFile = Array(try world.tokenFile("1001").utf8)
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let tokens = "/v1/tenants/springfield/tokens"
            for query in Self.refusedValues {
                let reply = try await live.send(.POST, "\(tokens)?\(query)", key: key, body: mainFile)
                #expect(reply.status == 400, "\(query): \(reply.text)")
                #expect(reply.code == "invalid_input", "\(query)")
                let message = reply.json["message"] as? String ?? ""
                #expect(message.contains("`dryRun`") && message.contains("true") && message.contains("false"), "\(query): \(message)")
            }
            let listed = try await live.get(tokens, key: key)
            #expect(listed.array("tokens").isEmpty, "a refused flag uploaded a token: \(listed.text)")

            let looked = try await live.send(.POST, "\(tokens)?dryRun=true", key: key, body: mainFile)
            #expect(looked.status == 200, "\(looked.text)")
            #expect(try await live.get(tokens, key: key).array("tokens").isEmpty)
            let added = try await live.send(.POST, "\(tokens)?dryRun=false", key: key, body: mainFile)
            #expect(added.status == 201, "\(added.text)")
        }
    }

    @Test func takeoverAndCleanUpTakeOnlyTrueOrFalse() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let labFile = Array(try world.tokenFile("3001").utf8)
        try await withLiveServer(world) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let tokens = "/v1/tenants/springfield/tokens"
            // Held by Apple Configurator: `takeover=1` must not be read as taking it.
            let guessed = try await live.send(.POST, "\(tokens)?takeover=1", key: key, body: labFile)
            #expect(guessed.status == 400, "\(guessed.text)")
            #expect((guessed.json["message"] as? String ?? "").contains("`takeover`"))
            #expect(try await live.get(tokens, key: key).array("tokens").isEmpty)

            let taken = try await live.send(.POST, "\(tokens)?takeover=true", key: key, body: labFile)
            #expect(taken.status == 201, "\(taken.text)")
            let cleanUp = try await live.send(.POST, "\(tokens)/3001/takeover?cleanUp=yes", key: key)
            #expect(cleanUp.status == 400, "\(cleanUp.text)")
            #expect((cleanUp.json["message"] as? String ?? "").contains("`cleanUp`"))
        }
    }
}
