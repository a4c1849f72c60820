import Foundation
import TestDeadlines
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One contract in both faces: the same error object from `--json` and the HTTP API, every
/// field of a published view present, one timestamp format, Apple's `license` beside the first
/// spellings.
@Suite(.timeLimit(.minutes(5))) struct OneContractCLITests {
    /// The keys of the one error object, in both faces.
    static let errorKeys: Set<String> = ["code", "message", "usage", "error"]
    /// Seconds an HTTP request may take before the test gives up on it (scaled on a busy machine).
    static let requestSecondsMax = TestDeadlines.seconds(20)

    /// The answer of one request to a served API: status and JSON object.
    static func request(_ method: String, _ url: String, key: String, body: [String: Any]? = nil) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.timeoutInterval = requestSecondsMax
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response) = try await URLSession(configuration: .ephemeral).data(for: request)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not one JSON object: \(String(decoding: data, as: UTF8.self))")
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }

    /// The shape both faces share: the four keys, `error` repeating code and message, no usage,
    /// the message one line.
    static func expectOneErrorObject(_ object: [String: Any], code: String, _ face: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(object.keys) == errorKeys, "\(face): \(object)", sourceLocation: sourceLocation)
        #expect(object["code"] as? String == code, "\(face): \(object)", sourceLocation: sourceLocation)
        let message = object["message"] as? String ?? ""
        #expect(!message.isEmpty && !message.contains("\n"), "\(face): one line: \(message)", sourceLocation: sourceLocation)
        #expect(object["usage"] is NSNull, "\(face): usage is null but for a usage error", sourceLocation: sourceLocation)
        let alias = object[object: "error"]
        #expect(alias["code"] as? String == code, "\(face): the former shape's code", sourceLocation: sourceLocation)
        #expect(alias["message"] as? String == message, "\(face): the former shape's message", sourceLocation: sourceLocation)
    }

    @Test func theSameMistakeGetsTheSameErrorObjectFromTheCommandLineAndTheHTTPAPI() async throws {
        let workspace = try Workspace()
        let created = try await workspace.run("tenant", "create", "springfield", "--json")
        #expect(created.status == 0, "\(created)")
        let key = try #require(try created.json()["apiKey"] as? String)
        let served = try await TwoNodesCLITests().node(workspace, "api")
        defer {
            served.0.stopInTheBackground()
        }
        let base = served.1 + "/v1/tenants"

        // An app no token of the tenant has.
        let cli = try await workspace.run("assign", "--tenant", "springfield", "--app", "99999", "--serial", "C02XK1ABJHD5", "--no-push", "--json")
        #expect(cli.status == 1, "\(cli)")
        Self.expectOneErrorObject(try cli.json(), code: "unknown_app", "CLI")
        let (status, http) = try await Self.request("POST", base + "/springfield/assignments", key: key,
                                                    body: ["app": "99999", "serialNumbers": ["C02XK1ABJHD5"]])
        #expect(status == 422)
        Self.expectOneErrorObject(http, code: "unknown_app", "HTTP")

        // A tenant that does not exist.
        let missing = try await workspace.run("apps", "--tenant", "nosuch", "--json")
        #expect(missing.status == 1, "\(missing)")
        Self.expectOneErrorObject(try missing.json(), code: "not_found", "CLI")
        let (missingStatus, missingHTTP) = try await Self.request("GET", base + "/nosuch/apps", key: key)
        #expect(missingStatus == 404)
        Self.expectOneErrorObject(missingHTTP, code: "not_found", "HTTP")
    }

    @Test func aUsageErrorInJSONIsOneSentenceWithTheUsageInAFieldOfItsOwn() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        for words in [["--json", "assign", "--tenant", "springfield"], ["assign", "--tennant", "springfield", "--json"],
                      ["queue", "list", "--tenant", "springfield", "--limit", "0", "--json"]] {
            let result = try await workspace.run(arguments: words)
            #expect(result.status == 2, "\(words): \(result)")
            let object = try result.json()
            #expect(Set(object.keys) == Self.errorKeys, "\(object)")
            #expect(object["code"] as? String == "invalid_input")
            let message = try #require(object["message"] as? String)
            #expect(!message.contains("\n") && !message.contains("Error:") && !message.contains("Usage:"), "\(words): \(message)")
            // A sentence may open with an option's name (`--limit must be …`), never in lower case.
            #expect(message.first?.isLowercase == false && message.hasSuffix("."), "\(words): one sentence: \(message)")
            let usage = try #require(object["usage"] as? String, "\(object)")
            #expect(usage.hasPrefix("allot ") && !usage.contains("\n"), "\(words): \(usage)")
            #expect(object[object: "error"]["message"] as? String == message)
        }
    }

    @Test func syncAndBatchesAnswerEveryFieldNullRatherThanMissing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 3)
        let tokenKeys: Set<String> = ["tokenId", "locationUid", "state", "assets", "assetsAdded", "overAllocated", "warnings", "error",
                                      "appleUnreachable", "countDifferences", "drift", "assignmentsRead", "repair", "subscribedNotificationTypes"]
        let sync = try await workspace.json("sync", "--tenant", "springfield")
        #expect(Set(sync.keys) == ["tokens", "needsAttention", "attention"], "\(sync)")
        let tokens = sync[array: "tokens"]
        #expect(tokens.count == 2)
        for token in tokens {
            #expect(Set(token.keys) == tokenKeys, "\(token)")
            #expect(token["repair"] is NSNull, "no repair was asked: \(token)")
        }
        let repaired = try await workspace.json("sync", "--tenant", "springfield", "--repair")[array: "tokens"]
        #expect(repaired.allSatisfy { Set($0.keys) == tokenKeys }, "with --repair too (null where nothing differed): \(repaired)")

        let waiting = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(1), "--no-push")
        #expect(Set(waiting[object: "delivery"].keys) == ["pushed", "push", "pushError"], "\(waiting)")
        #expect(waiting[object: "delivery"]["push"] is NSNull)
        let pushed = try await workspace.json("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(2))
        #expect(Set(pushed[object: "delivery"].keys) == ["pushed", "push", "pushError"], "\(pushed)")
        #expect(pushed[object: "delivery"][object: "push"]["sent"] is Int, "the push as `push --json` shows it: \(pushed)")
    }

    /// Every string under a key ending in `At` (and `at`), wherever it is in the object.
    static func moments(in value: Any, key: String = "") -> [String] {
        switch value {
        case let object as [String: Any]: object.flatMap { moments(in: $0.value, key: $0.key) }
        case let array as [Any]: array.flatMap { moments(in: $0, key: key) }
        case let text as String where key == "at" || key.hasSuffix("At"): [text]
        default: []
        }
    }

    @Test func everyMomentInJSONIsRFC3339InUTCAndEveryTableShowsOneFormat() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 16)
        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--queue").status == 3)
        let views = [
            try await workspace.json("token", "list", "--tenant", "springfield"),
            try await workspace.json("events", "--tenant", "springfield"),
            try await workspace.json("queue", "list", "--tenant", "springfield"),
            try await workspace.json("token", "inspect", "--tenant", "springfield", "--renewing", "1001", workspace.tokenFile("1001")),
        ]
        let rfc3339 = #/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/#
        let found = views.flatMap { Self.moments(in: $0) }
        #expect(found.count > 10, "tokens, events and the queue each have moments: \(found)")
        for moment in found { #expect(moment.wholeMatch(of: rfc3339) != nil, "not RFC 3339 in UTC: \(moment)") }

        let table = #/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/#
        let queue = try await workspace.run("queue", "list", "--tenant", "springfield")
        let events = try await workspace.run("events", "--tenant", "springfield")
        #expect(queue.stdout.contains("QUEUED (UTC)") && events.stdout.contains("AT (UTC)"), "\(queue)\n\(events)")
        for text in [queue.stdout, events.stdout] {
            #expect(text.contains(table), "\(text)")
            #expect(!text.contains(#/\d{2}T\d{2}:\d{2}/#), "one format in tables: \(text)")
        }
    }

    @Test func applesSpellingIsPresentBesideTheFirstOne() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        let inspected = try await workspace.json("token", "inspect", "--tenant", "springfield", "--renewing", "1001", workspace.tokenFile("1001"))
        #expect(inspected[int: "licenses"] != nil && inspected[int: "licenses"] == inspected[int: "licences"], "\(inspected)")
        #expect(inspected[int: "licensesInUse"] != nil && inspected[int: "licensesInUse"] == inspected[int: "licencesInUse"], "\(inspected)")

        #expect(try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--serial", Workspace.serial(1)).status == 0)
        let device = try await workspace.json("devices", "show", "--tenant", "springfield", Workspace.serial(1))
        #expect(device[array: "licenses"].count == 1 && device[array: "licences"].count == 1, "\(device)")

        let thresholds = try await workspace.json("tenant", "licenses-low", "springfield", "25,10")
        #expect(thresholds["licensesLow"] as? String == "25,10" && thresholds["licencesLow"] as? String == "25,10", "\(thresholds)")
        #expect(try await workspace.json("tenant", "licences-low", "springfield")["licensesLow"] as? String == "25,10")

        // 10 + 5 licences, 9 assigned more: below 25% and 10% of the total.
        let serials = (2...14).map(Workspace.serial)
        try await workspace.run("devices", "import", "--tenant", "springfield",
                          workspace.write("more.csv", "serial_number\n" + serials.joined(separator: "\n") + "\n"))
        #expect(try await workspace.run(arguments: ["assign", "--tenant", "springfield", "--app", Workspace.sharedApp] + serials.flatMap { ["--serial", $0] }).status == 0)
        let first = try await workspace.json("events", "--tenant", "springfield", "--kind", "licences_low")[array: "events"]
        let apple = try await workspace.json("events", "--tenant", "springfield", "--kind", "licenses_low")[array: "events"]
        #expect(!first.isEmpty, "the app fell below its thresholds")
        #expect(apple.map { $0[int: "id"] } == first.map { $0[int: "id"] }, "a filter by either name finds the same events")
    }
}
