import AppleAppsAndBooks
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Apple's Apps and Books service over HTTP: Apple itself (`https://vpp.itunes.apple.com/mdm/v2`)
/// or a served simulator (`http://127.0.0.1:N/mdm/v2`).
///
/// - Every call but `serviceConfig` sends `Authorization: Bearer <token>` with the token string
///   exactly as given (the whole Base64 string of the `.vpptoken` file). The token appears in no
///   error, description or log line this type produces.
/// - An answer whose JSON carries `errorNumber` throws `AppleServiceError`, whatever the HTTP
///   status: Apple sometimes answers 200 with an error body.
/// - `Retry-After` is read into `AppleServiceError.retryAfterSeconds`; the client never retries by
///   itself: the outbox owns backoff.
/// - At most `pagesInFlightMax` page reads (`/assets`, `/assignments`, `/users`, `/subscriptions…`)
///   run at once per client.
/// - `serviceConfig` is re-read from Apple at most every `serviceConfigRefreshSeconds`.
public struct AppleHTTPClient: AppsAndBooksService, AppleUsersService, AppleSubscriptionsService {
    /// Apple's rule (APPLE.md, "Paging"): at most 5 pages in flight at once.
    public static let pagesInFlightMax = 5
    /// A bound on one answer's body: Apple's biggest page (1000 assignments) is well under this.
    public static let responseBytesMax = 32 * 1024 * 1024
    /// A bound on a `Retry-After` we obey, against a garbled header.
    public static let retryAfterSecondsMax = 24 * 3600
    /// APPLE.md: limits are dynamic; re-read them every ~5 minutes.
    public static let serviceConfigRefreshSecondsDefault = 300

    /// The base, without a trailing slash, e.g. `https://vpp.itunes.apple.com/mdm/v2`.
    public let baseURL: String
    private let httpClient: HTTPClient
    /// For one whole call: connect, send, and read the answer to its last byte.
    public let timeout: Duration
    let pageGate: InFlightGate
    private let serviceConfigCache: ServiceConfigCache
    /// Says which of Apple's limits were absent from `service/config` (never a token or a value
    /// of a request).
    private let logger: Logger

    public init(baseURL: String, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(30),
                serviceConfigRefreshSeconds: Int = AppleHTTPClient.serviceConfigRefreshSecondsDefault,
                logger: Logger = Logger(label: "allot.apple")) {
        var base = baseURL.trimmingCharacters(in: .whitespacesAndNewlines)
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.httpClient = httpClient
        self.timeout = timeout
        self.pageGate = InFlightGate(limit: Self.pagesInFlightMax)
        self.serviceConfigCache = ServiceConfigCache(refreshSeconds: serviceConfigRefreshSeconds)
        self.logger = logger
    }

    // MARK: Apple's calls

    public func serviceConfig() async throws -> ServiceConfig {
        if let cached = serviceConfigCache.fresh() { return cached }
        let config: ServiceConfig = try await call(.GET, "/service/config", token: nil)
        if !config.defaultedLimits.isEmpty {
            logger.warning("Apple's service/config did not give \(config.defaultedLimits.joined(separator: ", ")); using Apple's published values for those")
        }
        serviceConfigCache.store(config)
        return config
    }

    public func clientConfig(token: String) async throws -> ClientConfig {
        try await call(.GET, "/client/config", token: token)
    }

    public func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig {
        try await call(.POST, "/client/config", token: token, body: request)
    }

    public func assets(token: String, query: AssetsQuery) async throws -> AssetsPage {
        let items: [(String, String?)] = [
            ("pageIndex", String(query.pageIndex)), ("adamId", query.adamId), ("pricingParam", query.pricingParam),
        ]
        return try await pageGate.run {
            try await call(.GET, "/assets", query: items, token: token)
        }
    }

    public func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage {
        let items: [(String, String?)] = [
            ("pageIndex", String(query.pageIndex)), ("adamId", query.adamId), ("pricingParam", query.pricingParam),
            ("serialNumber", query.serialNumber), ("sinceVersionId", query.sinceVersionId), ("clientUserId", query.clientUserId),
        ]
        return try await pageGate.run {
            try await call(.GET, "/assignments", query: items, token: token)
        }
    }

    public func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await exchange(.POST, "/assets/associate", query: [], token: token, body: RequestBodyJSON.association(request))
    }

    public func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse {
        try await exchange(.POST, "/assets/disassociate", query: [], token: token, body: RequestBodyJSON.association(request))
    }

    public func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse {
        try await exchange(.POST, "/assets/revoke", query: [], token: token, body: RequestBodyJSON.revoke(request))
    }

    public func eventStatus(token: String, eventId: String) async throws -> EventStatus {
        try await call(.GET, "/status", query: [("eventId", eventId)], token: token)
    }

    /// How many page reads are running now (for tests of the in-flight bound).
    public func pagesInFlight() async -> Int { await pageGate.running }

    /// The most page reads that ran at once since this client was made.
    public func pagesInFlightPeak() async -> Int { await pageGate.peak }

    // MARK: One exchange

    func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [],
                                         token: String?) async throws -> Answer {
        try await exchange(method, path, query: query, token: token, body: nil)
    }

    func call<Answer: Decodable, Body: Encodable>(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [],
                                                          token: String?, body: Body) async throws -> Answer {
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw AppleHTTPClientError.encoding(path: path, reason: "\(type(of: error))")
        }
        return try await exchange(method, path, query: query, token: token, body: data)
    }

    func exchange<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String?)],
                                             token: String?, body: Data?) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "allot")
        if let token {
            request.headers.add(name: "Authorization", value: "Bearer \(Self.withoutSurroundingWhitespace(token))")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }

        let status: Int
        let headers: HTTPHeaders
        let bytes: ByteBuffer
        do {
            let deadline = NIODeadline.now() + TimeAmount(timeout)
            let response = try await httpClient.execute(request, deadline: deadline)
            status = Int(response.status.code)
            headers = response.headers
            bytes = try await response.body.collect(upTo: Self.responseBytesMax)
        } catch let error as HTTPClientError {
            // HTTPClientError's description names the failure, never the request's headers.
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                throw AppleHTTPClientError.timeout(path: path, seconds: timeout)
            default:
                throw AppleHTTPClientError.transport(path: path, reason: "\(error)")
            }
        } catch is NIOTooManyBytesError {
            throw AppleHTTPClientError.malformedAnswer(path: path, httpStatus: 0, reason: "the answer is over \(Self.responseBytesMax) bytes")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as IOError {
            // A refused or reset connection: the system's words (no request data in them).
            // With `PooledHTTPClient`'s clients (no connection retries) this arrives at once;
            // a client that retries refused connections raises it only at the deadline.
            throw AppleHTTPClientError.transport(path: path, reason: "could not connect to \(baseURL): \(String(cString: strerror(error.errnoCode)))")
        } catch {
            throw AppleHTTPClientError.transport(path: path, reason: "\(type(of: error))")
        }
        return try Self.decodeAnswer(path: path, status: status, headers: headers, body: Data(bytes.readableBytesView))
    }

    /// Reads an answer: Apple's error body first (any status), then the status, then the JSON.
    static func decodeAnswer<Answer: Decodable>(path: String, status: Int, headers: HTTPHeaders, body: Data) throws -> Answer {
        let retryAfter = headers.first(name: "Retry-After").flatMap(Self.retryAfterSeconds)
        // One parse of the body, read both ways (it was parsed twice: each poll's answer).
        let read = Result { try JSONDecoder().decode(ErrorOrAnswer<Answer>.self, from: body) }
        if case .success(let both) = read, let error = both.error, let number = error.errorNumber {
            throw AppleServiceError(errorNumber: number, message: error.errorMessage ?? "", httpStatus: status, retryAfterSeconds: retryAfter)
        }
        guard (200..<300).contains(status) else {
            // No error body (a proxy, a load balancer): name Apple's error for the status, so the
            // engine classifies it the same way and obeys any Retry-After.
            if let number = Self.errorNumber(forStatus: status) {
                throw AppleServiceError(errorNumber: number, message: "HTTP \(status) without an error body",
                                        httpStatus: status, retryAfterSeconds: retryAfter)
            }
            throw AppleHTTPClientError.unexpectedStatus(path: path, httpStatus: status)
        }
        do {
            return try read.get().answer.get()
        } catch {
            throw AppleHTTPClientError.malformedAnswer(path: path, httpStatus: status, reason: Self.describe(error))
        }
    }

    /// A body read as Apple's error (nil when it is not one) and as the answer expected, from
    /// the same parse: Apple sends some errors with status 200, so the error is looked for first.
    private struct ErrorOrAnswer<Answer: Decodable>: Decodable {
        let error: ErrorBody?
        let answer: Result<Answer, any Error>

        init(from decoder: any Decoder) throws {
            error = try? ErrorBody(from: decoder)
            answer = Result { try Answer(from: decoder) }
        }
    }

    static func errorNumber(forStatus status: Int) -> Int? {
        switch status {
        case 401: AppleErrorNumber.loginRequired
        case 429: AppleErrorNumber.tooManyRequests
        case 503: AppleErrorNumber.temporarilyUnavailable
        case 500...599: AppleErrorNumber.internalError
        default: nil
        }
    }

    /// `Retry-After` is seconds or an HTTP date (RFC 9110 §10.2.3).
    static func retryAfterSeconds(_ value: String) -> Int? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return min(max(seconds, 0), retryAfterSecondsMax) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return min(max(Int(date.timeIntervalSinceNow.rounded(.up)), 0), retryAfterSecondsMax)
    }

    static func queryString(_ items: [(String, String?)]) -> String {
        let parts = items.compactMap { name, value -> String? in
            guard let value else { return nil }
            return "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: queryValueCharacters) ?? "")"
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    /// What a query value keeps unescaped: RFC 3986's unreserved characters. Made once: made
    /// per call, the set was 1.5% of delivery's CPU (perf, release, every poll has a query).
    private static let queryValueCharacters: CharacterSet = {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    /// The text without whitespace around it. A token rarely has any, and Foundation's trim of
    /// its hundreds of bytes on every call was 1% of delivery's CPU: it runs only when the first
    /// or last byte is whitespace, or not ASCII (which may start Unicode whitespace).
    static func withoutSurroundingWhitespace(_ text: String) -> String {
        func mayBeWhitespace(_ byte: UInt8) -> Bool { byte <= UInt8(ascii: " ") || byte >= 0x80 }
        guard let first = text.utf8.first, let last = text.utf8.last, mayBeWhitespace(first) || mayBeWhitespace(last) else { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A decoding error without the payload's values (they may be personal data).
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(type(of: error))" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key \(key.stringValue) at \(path(context))"
        case .typeMismatch(_, let context): return "wrong type at \(path(context))"
        case .valueNotFound(_, let context): return "null at \(path(context))"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "not JSON" : "bad value at \(path(context))"
        @unknown default: return "undecodable"
        }
    }

    /// Apple's error body, read leniently: only `errorNumber` decides that it is one.
    private struct ErrorBody: Decodable {
        var errorNumber: Int?
        var errorMessage: String?
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
