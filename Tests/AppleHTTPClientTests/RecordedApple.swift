import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

/// A stand-in for Apple that answers recorded, Apple-shaped bodies on an ephemeral loopback port,
/// and remembers what it was asked.
final class RecordedApple: Sendable {
    struct Seen: Sendable {
        var method: String
        var path: String
        var query: String
        var authorization: String?
        var body: String
    }

    struct Answer: Sendable {
        var status: Int = 200
        var body: String
        var headers: [String: String] = [:]
        /// Before the head of the answer.
        var delay: Duration = .zero
    }

    private let seen = Mutex<[Seen]>([])
    private let inFlight = Mutex<(now: Int, peak: Int)>((0, 0))
    private let answers: @Sendable (Seen) -> Answer

    init(_ answers: @escaping @Sendable (Seen) -> Answer) {
        self.answers = answers
    }

    var requests: [Seen] { seen.withLock { $0 } }
    var peakInFlight: Int { inFlight.withLock { $0.peak } }

    /// Serves until `body` returns, then stops the server.
    func serve<T: Sendable>(_ body: @Sendable (_ baseURL: String) async throws -> T) async throws -> T {
        let router = Router()
        router.on("**", method: .get) { request, context in try await self.respond(request) }
        router.on("**", method: .post) { request, context in try await self.respond(request) }
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "recorded-apple")
        logger.logLevel = .warning
        let app = Application(router: router,
                              configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in readyContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await group.run() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body("http://127.0.0.1:\(port)/mdm/v2")
            await group.triggerGracefulShutdown()
            _ = await server.result
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = await server.result
            throw error
        }
    }

    private func respond(_ request: Request) async throws -> Response {
        var request = request
        let bytes = try await request.collectBody(upTo: 1 << 20)
        let entry = Seen(method: request.method.rawValue,
                         path: request.uri.path.replacingOccurrences(of: "/mdm/v2", with: ""),
                         query: request.uri.query ?? "",
                         authorization: request.headers[.authorization],
                         body: String(buffer: bytes))
        seen.withLock { $0.append(entry) }
        inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
        defer { inFlight.withLock { $0.now -= 1 } }
        let answer = answers(entry)
        if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in answer.headers {
            if name.lowercased() == "retry-after" { headers[.retryAfter] = value }
        }
        return Response(status: HTTPResponse.Status(code: answer.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
}

/// Apple-shaped answers, as recorded from the documentation's examples.
enum Recorded {
    static let token = "eyJ0b2tlbiI6InNlY3JldC10b2tlbi12YWx1ZSIsImV4cERhdGUiOiIyMDI3LTA2LTMwVDIyOjMzOjIyKzAwMDAiLCJvcmdOYW1lIjoiU3ByaW5nZmllbGQifQ=="

    static let ourMDM = #"{"id": "6f1c1f1e-0000-4000-8000-000000000001", "name": "allot", "metadata": "1.0"}"#
    static let configuratorMDM = #"{"id": "ac2-7f1e", "name": "Apple Configurator 2", "metadata": "2.17"}"#

    static func clientConfig(mdmInfo: String?) -> String {
        """
        {"uId": "1001", "locationName": "Main Campus", "countryISO2ACode": "US", "defaultPlatform": "volumeStore",
         "tokenExpirationDate": "2027-06-30T22:33:22+0000", "notificationTypes": ["ASSET_MANAGEMENT"]\(mdmInfo.map { ", \"mdmInfo\": \($0)" } ?? "")}
        """
    }

    static func assetsPage(_ index: Int, of total: Int) -> String {
        let next = index + 1 < total ? ", \"nextPageIndex\": \(index + 1)" : ""
        return """
            {"assets": [{"adamId": "36130972\(index)", "pricingParam": "STDQ", "productType": "App", "totalCount": 10,
                         "assignedCount": 2, "availableCount": 8, "retiredCount": 0, "deviceAssignable": true,
                         "revocable": true, "supportedPlatforms": ["iOS", "macOS"]}],
             "currentPageIndex": \(index)\(next), "totalPages": \(total), "size": 1, "versionId": "v7",
             "uId": "1001", "tokenExpirationDate": "2027-06-30T22:33:22+0000", "mdmInfo": \(ourMDM)}
            """
    }

    static let emptyAssignmentsPage = """
        {"assignments": [], "currentPageIndex": 0, "totalPages": 1, "size": 0, "versionId": "v7", "uId": "1001"}
        """

    static let serviceConfig = """
        {"limits": {"maxAssets": 25, "maxSerialNumbers": 1000, "maxClientUserIds": 1000, "maxRevokeSerialNumbers": 100,
                    "maxRevokeClientUserIds": 100, "maxRequestPerSecond": 15},
         "errorCodes": [{"errorNumber": 9646, "errorMessage": "Too many requests"}],
         "urls": {"status": "https://vpp.itunes.apple.com/mdm/v2/status"}, "notificationTypes": ["ASSET_MANAGEMENT", "ASSET_COUNT"]}
        """

    static func error(_ number: Int, _ message: String) -> String {
        #"{"errorNumber": \#(number), "errorMessage": "\#(message)"}"#
    }
}
