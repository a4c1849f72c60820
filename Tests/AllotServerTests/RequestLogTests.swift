import Allot
import AllotServer
import Foundation
import Logging
import Synchronization
import Testing

/// The server's log: one line per request with its route pattern, status and duration, one JSON
/// object per line with `--log-format json`, and never a key, a token file or a secret.
@Suite(.timeLimit(.minutes(5))) struct RequestLogTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    nonisolated(unsafe) static let iso8601 = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    @Test func eachRequestIsOneJSONLineWithItsRouteStatusAndDurationAndNoSecret() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let captured = Lines()
        // Trace: everything anything logs, Hummingbird's own lines included, is searched for secrets.
        let logger = Logger(label: "allot.server") { label in
            AllotLogHandler(label: label, level: .trace, format: .json) { line in captured.lines.withLock { $0.append(line) } }
        }
        let tokenFile = try world.tokenFile("1001")
        let secrets = try await withLiveServer(world, logger: logger) { live in
            let key = try await live.createTenant("springfield", adminKey: world.adminKey)
            let base = "/v1/tenants/springfield"
            #expect(try await live.send(.POST, base + "/tokens", key: key, body: Array(tokenFile.utf8)).status == 201)
            let hook = try await live.json(.POST, base + "/webhooks", key: key, ["url": "https://mdm.example.invalid/allot"])
            let rotated = try await live.send(.POST, "/v1/tenants/springfield/api-key", key: world.adminKey)
            let newKey = try #require(rotated.json["apiKey"] as? String)
            #expect(try await live.get(base + "/tokens", key: newKey).status == 200)
            #expect(try await live.get(base + "/tokens", key: key).status == 401, "the old key")
            #expect(try await live.get("/v1/nothing", key: newKey).status == 404)
            return [world.adminKey, key, newKey, try #require(hook.json["secret"] as? String), tokenFile, ServerWorld.bearer(ofTokenFile: tokenFile)]
        }
        let lines = captured.all
        let text = lines.joined()
        for secret in secrets {
            #expect(!text.contains(secret), "a secret is in the log")
            #expect(!text.contains(String(secret.suffix(16))), "a secret's end is in the log")
            #expect(!text.contains(String(secret.prefix(24)).dropFirst(8)), "a secret's start is in the log")
        }

        var requests: [[String: Any]] = []
        for line in lines {
            #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false, "one line per message")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect((object["time"] as? String).flatMap(Self.iso8601.date(from:)) != nil, "time is ISO 8601 in UTC: \(object["time"] ?? "")")
            #expect(object["time"] is String && object["level"] is String && object["message"] is String && object["metadata"] is [String: Any], "\(line)")
            if object["message"] as? String == "request" { requests.append(object["metadata"] as? [String: Any] ?? [:]) }
        }
        let seen = requests.map { "\($0["method"] ?? "") \($0["route"] ?? "") \($0["status"] ?? "")" }
        #expect(seen == [
            "POST /v1/tenants 201",
            "POST /v1/tenants/{slug}/tokens 201",
            "POST /v1/tenants/{slug}/webhooks 201",
            "POST /v1/tenants/{slug}/api-key 200",
            "GET /v1/tenants/{slug}/tokens 200",
            "GET /v1/tenants/{slug}/tokens 401",
            "GET NotFound 404",
        ], "each request once, by its route pattern: \(seen)")
        #expect(requests.allSatisfy { Double($0["duration_ms"] as? String ?? "") != nil })
        #expect(!text.contains("/v1/tenants/springfield"), "raw paths are not logged")
    }

    @Test func theTextFormatIsOneLineWithTheFieldsSorted() {
        let captured = Lines()
        var logger = Logger(label: "allot.test") { label in
            AllotLogHandler(label: label, level: .notice, format: .text) { line in captured.lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "b"] = "2"
        logger.info("hidden below notice")
        logger.warning("webhook try failed", metadata: ["a": "1"])
        #expect(captured.all.count == 1)
        #expect(captured.all.first?.hasSuffix(" warning allot.test: webhook try failed a=1 b=2\n") == true)
    }
}
