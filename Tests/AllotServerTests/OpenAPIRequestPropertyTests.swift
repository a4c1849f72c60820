import Allot
import AllotServer
import Foundation
import NIOHTTP1
import Testing

/// The request side of the document: requests derived from openapi.yaml (its examples and
/// mutations of them, from a fixed seed) sent to a live server on loopback, each answer checked
/// as a schema fuzzer checks it. The response side of the happy paths is
/// `OpenAPIConformanceTests`; this finds what a client that reads only the document meets.
@Suite(.timeLimit(.minutes(5))) struct OpenAPIRequestPropertyTests {
    /// What a fuzzer checks, one finding per request and check.
    enum Check: String, CaseIterable, Sendable {
        case noServerError = "no 5xx answer"
        case statusDocumented = "every status is documented for its operation"
        case responseFitsSchema = "every JSON answer fits its documented schema"
        case forbiddenIsRefused = "a request the document forbids is refused with 4xx"
        case allowedIsNotRefused = "a request the document allows is not refused as malformed (400, or 422 other than unknown_app)"
        case keyIsRequired = "a secured route without a valid key is refused"
    }

    struct Finding: Sendable, CustomStringConvertible {
        let check: Check
        let request: String
        let detail: String
        var description: String { "[\(check.rawValue)] \(request): \(detail)" }
    }

    /// The seed of every run: the same requests each time, so a finding reproduces.
    static let seed: UInt64 = 0xA110_7028
    /// A bound on the run: the generator's output is checked against it, so a document that
    /// grows past it fails here rather than making the suite slow.
    static let requestsMax = 2_000

    @Test func requestsDerivedFromTheDocumentGetTheAnswersItPromises() async throws {
        let world = try ServerWorld()
        defer { world.cleanUp() }
        let mainFile = try world.tokenFile("1001")
        let northFile = try world.tokenFile("1002")
        let labFile = try world.tokenFile("3001")

        let (findings, sent) = try await withLiveServer(world) { live in
            let spec = try OpenAPISpec()
            // The world the examples name: the tenant, two tokens, the example devices, a webhook.
            var tenantKey = try await live.createTenant("springfield", adminKey: world.adminKey)
            let base = "/v1/tenants/springfield"
            let main = try await live.send(.POST, base + "/tokens", key: tenantKey, body: Array(mainFile.utf8))
            _ = try await live.send(.POST, base + "/tokens", key: tenantKey, body: Array(northFile.utf8))
            _ = try await live.json(.POST, base + "/devices", key: tenantKey,
                                    ["devices": [["serialNumber": "DMPX1234ABCD", "group": "lab"], ["serialNumber": "DMPX1234ABCE", "group": "lab"]]])
            _ = try await live.json(.POST, base + "/users", key: tenantKey,
                                    ["users": [["userId": "ann", "group": "teachers"], ["userId": "ben", "group": "teachers"], ["userId": "cid"]]])
            let hook = try await live.json(.POST, base + "/webhooks", key: tenantKey, ["url": "https://mdm.example.invalid/hook"])
            // Renewed only now: a renewal makes the first file stale.
            let renewed = try await world.renewedTokenFile("1001")
            let mainId = try #require(main.json["id"] as? Int, "adding the token answered \(main.status): \(main.text)")
            let hookId = try #require((hook.json["webhook"] as? [String: Any])?["id"] as? Int)

            var generator = OpenAPIRequestGenerator(spec: spec, fixtures: .init(
                pathValues: ["slug": "springfield", "token": String(mainId), "webhook": String(hookId), "userId": "ann"],
                fileBodies: ["addToken": Array(labFile.utf8), "renewToken": Array(renewed.utf8),
                             "importUsers": Array("user_id,email,group\ndan,dan@school.example,teachers\n".utf8),
                             "importRoster": Array("serial_number,name,model,group\nDMPX1234ABCF,Lab 6,iPad,lab\n".utf8)]),
                seed: Self.seed)
            let requests = try generator.requests()
            #expect(requests.count <= Self.requestsMax, "\(requests.count) requests: past the bound of this test")

            var findings: [Finding] = []
            for request in requests {
                let key: String? = switch request.credential {
                case .none: nil
                case .garbage: "allot_" + String(repeating: "A", count: 43)
                case .tenant: tenantKey
                case .admin: world.adminKey
                }
                let reply = try await live.send(HTTPMethod(rawValue: request.method), request.path, key: key, body: request.body,
                                                headers: request.headers + (request.contentType.map { [("Content-Type", $0)] } ?? []))
                if request.template == "/v1/tenants/{slug}/api-key", reply.status == 200, reply.json["slug"] as? String == "springfield",
                   let rotated = reply.json["apiKey"] as? String {
                    tenantKey = rotated
                }
                findings += try Self.check(request, reply, spec: spec)
            }
            return (findings, requests.count)
        }

        let counts = Dictionary(grouping: findings, by: \.check).mapValues(\.count)
        let summary = Check.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "\n")
        #expect(findings.isEmpty, "\(findings.count) findings in \(sent) requests by check:\n\(summary)\n\n\(findings.map(\.description).joined(separator: "\n"))")
    }

    /// The findings of one exchange.
    static func check(_ request: OpenAPIRequestGenerator.Request, _ reply: Reply, spec: OpenAPISpec) throws -> [Finding] {
        let name = "\(request.method) \(request.template) (\(request.label), \(request.credential)) → \(reply.status)"
        var found: [Finding] = []
        func finding(_ check: Check, _ detail: String) { found.append(Finding(check: check, request: name, detail: detail)) }
        let code = reply.code ?? ""
        if reply.status >= 500 { finding(.noServerError, reply.text.prefix(200).description) }
        let response = try spec.response(request.method, request.template, status: reply.status)
        if !response.documented {
            finding(.statusDocumented, "the document lists no \(reply.status) (code \(code))")
        } else if let schema = response.jsonSchema {
            if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(reply.body)) {
                for problem in try spec.problems(value, schema) { finding(.responseFitsSchema, problem) }
            } else {
                finding(.responseFitsSchema, "the answer is not JSON")
            }
        }
        let secured = (spec.operation(request.method, request.template)?["security"] as? [Any])?.isEmpty != true
        let keyless = request.credential == .none || request.credential == .garbage
        if secured, keyless, reply.status < 400 { finding(.keyIsRequired, "answered without a valid key") }
        if !request.fitsDocument, !(400..<500).contains(reply.status) {
            finding(.forbiddenIsRefused, request.schemaProblems.joined(separator: "; "))
        }
        let malformed = (reply.status == 400 && code == "invalid_input") || (reply.status == 422 && code != "unknown_app" && code != "idempotency_key_reused")
        let message = reply.json["message"] as? String ?? ""
        let refusalOfState = refusalsOfState.contains { message.contains($0) }
        if request.fitsDocument, request.properKey, !request.opaqueBody, malformed, !refusalOfState {
            finding(.allowedIsNotRefused, "\(code): \(reply.json["message"] as? String ?? reply.text.prefix(200).description)")
        }
        return found
    }

    /// Refusals of a well-formed request for what the ledger holds, not for its form: no schema
    /// can say that a group has devices. (Their code is `invalid_input`, shared with malformed
    /// requests; the sentence tells them apart.)
    static let refusalsOfState = ["has no managed devices"]
}
