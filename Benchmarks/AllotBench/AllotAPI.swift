// `allot serve`'s HTTP API on loopback, called as an MDM backend calls it: a tenant's key (or
// the admin key) as a Bearer token. Keys only ever travel in the Authorization header; no
// error message here repeats one.
import AsyncHTTPClient
import Foundation

struct AllotAPI: Sendable {
    /// `http://127.0.0.1:PORT`
    let baseURL: String
    static let answerBytesMax = 64 << 20

    struct Answer: @unchecked Sendable {
        let status: UInt
        /// The answer's JSON object, when it is one.
        let object: [String: Any]?
    }

    func post(_ path: String, key: String, json: [String: Any], timeoutSeconds: Int64 = 60) async throws -> Answer {
        try await send(path, key: key, contentType: "application/json",
                       body: try JSONSerialization.data(withJSONObject: json), timeoutSeconds: timeoutSeconds)
    }

    func post(_ path: String, key: String, contentType: String, body: Data, timeoutSeconds: Int64 = 60) async throws -> Answer {
        try await send(path, key: key, contentType: contentType, body: body, timeoutSeconds: timeoutSeconds)
    }

    /// Throws unless the answer's status is `expected`; the error names the route, not the key.
    func expect(_ expected: UInt, _ answer: Answer, _ what: String) throws -> [String: Any] {
        guard answer.status == expected, let object = answer.object else {
            throw BenchError("\(what): HTTP \(answer.status), expected \(expected): \((answer.object?["message"] as? String) ?? "")")
        }
        return object
    }

    /// Whether the server answers `GET /healthz`, waiting at most `seconds`.
    func waitUntilHealthy(seconds: Double, while alive: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && alive() {
            let request = HTTPClientRequest(url: baseURL + "/healthz")
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status.code == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("`allot serve` did not answer /healthz within \(Int(seconds)) s (or exited); see serve.err")
    }

    /// Every call the benchmark makes is a POST.
    private func send(_ path: String, key: String, contentType: String, body: Data,
                      timeoutSeconds: Int64) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
        let bytes = try await response.body.collect(upTo: Self.answerBytesMax)
        let object = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
        return Answer(status: response.status.code, object: object)
    }
}
