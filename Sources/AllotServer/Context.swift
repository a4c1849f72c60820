import Allot
import AllotStore
import AllotCore
import AllotViews
import Foundation
import HTTPDeadlines
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Bounds on what one request may ask of the server (STYLE: a limit on everything).
public enum ServerLimits {
    /// Bytes of one request body. A batch of `BatchLimits.itemsMax` serials as JSON is about
    /// 2 MiB, a roster of as many devices with names and groups about 8 MiB.
    public static let requestBodyBytesMax = 16 * 1024 * 1024
    /// Events one request may read.
    public static let eventsLimitMax = 1_000
    /// Bytes of a `.vpptoken` file (Apple's are under 2 KiB).
    public static let tokenFileBytesMax = 64 * 1024
    /// Seconds a connection may stay open with no request in progress: idle between requests,
    /// or sending its request's headers that slowly (issue 10: idle and half-sent connections
    /// held 20,000 open files). Generous for a client that reuses its connection.
    public static let idleConnectionSeconds: Double = 30
    /// Connections open at once, well under a default limit of open files (20,000 here) so the
    /// server keeps the files it needs for the database, logs and Apple.
    public static let openConnectionsMax = 4_096
    /// Connections open at once from one client address (an IPv6 /64): 1/32 of the global cap,
    /// so one client cannot hold the server (issue 28: 4,200 from one address), and a client
    /// behind a NAT or an MDM's connection pool has ample room.
    public static let openConnectionsPerAddressMax = 128
    /// Connections under the global cap kept for `/healthz` and requests with a key, one
    /// request each, while anonymous connections fill the rest.
    public static let reservedConnections = 256
    /// Seconds a connection in the reserve has to send its request's head.
    public static let provisionalRequestSeconds: Double = 3
    /// Connections the kernel queues before they are accepted (Hummingbird's default is 256;
    /// Linux caps it at `net.core.somaxconn`, 4,096 on current kernels). A flood that reaches the
    /// cap leaves the next clients waiting here rather than refused by the kernel.
    public static let listenBacklog = 1_024
    /// Seconds to receive one request's whole body (`RequestDeadlines`): 16 MiB at 256 KiB/s.
    public static let bodySecondsMax: Double = 64
    /// Bytes per second a body must keep up over each window (issue 28: a byte every 10 s
    /// held a connection for ever). A phone on a bad link sends a thousand times this.
    public static let bodyBytesPerSecondMin = 1_024
    /// Seconds the body rate is measured over: shorter pauses are not punished.
    public static let bodyRateWindowSeconds: Double = 5
    /// Seconds from a request's end to its answer's head. Generous: uploading a token reads
    /// every page of its assets from Apple (30 s a call) before it answers.
    public static let handlerSecondsMax: Double = 300
    /// Seconds to hand a whole answer to the socket: a client that stops reading is let go.
    public static let responseWriteSecondsMax: Double = 30
}

extension RequestDeadlines {
    /// `allot serve`'s deadlines: the `ServerLimits` above.
    public init() {
        self.init(bodySecondsMax: ServerLimits.bodySecondsMax, bodyBytesPerSecondMin: ServerLimits.bodyBytesPerSecondMin,
                  bodyRateWindowSeconds: ServerLimits.bodyRateWindowSeconds, handlerSecondsMax: ServerLimits.handlerSecondsMax,
                  responseWriteSecondsMax: ServerLimits.responseWriteSecondsMax)
    }
}

/// The context of one request: Hummingbird's core, plus the tenant whose key was presented.
public struct AllotRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `TenantMiddleware` once the tenant's API key matched; nil on other routes.
    public var tenant: String?
    /// The node's engine that serves that tenant (`NodeEngines.serving`), set with it.
    var tenantEngine: Allot?
    /// The address of the connection's other end (a proxy's, behind one); nil on a Unix socket.
    public let peer: IPAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init(parsing:))
    }

    public var maxUploadSize: Int { ServerLimits.requestBodyBytesMax }

    /// The authenticated tenant. Only routes behind `TenantMiddleware` call it.
    func requireTenant() throws -> String {
        guard let tenant else { preconditionFailure("a tenant route was registered without TenantMiddleware") }
        return tenant
    }

    /// The engine of the authenticated tenant. Only routes behind `TenantMiddleware` use it.
    var engine: Allot {
        guard let tenantEngine else { preconditionFailure("a tenant route was registered without TenantMiddleware") }
        return tenantEngine
    }
}

/// A refusal of the HTTP layer itself (the engine's are `AllotError`). Rendered like them, as
/// the published `ErrorView`.
struct APIError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized",
                                       message: "this request needs an API key: send the header `Authorization: Bearer KEY`")
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, code: "not_found", message: message) }
    static func invalidInput(_ message: String) -> APIError { APIError(status: .badRequest, code: "invalid_input", message: message) }
    static func tooLarge(_ message: String) -> APIError { APIError(status: .contentTooLarge, code: "too_large", message: message) }
}

/// Turns every error into a JSON answer with a stable code. Outermost, so it also covers
/// unknown routes and bodies that are too large. Never echoes request bodies: they may hold a
/// token file.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext
    /// The routes, to tell a wrong method on a known path (405) from an unknown path (404).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AllotError {
            return Self.response(Self.status(for: error.code), code: error.code.rawValue, message: error.message)
        } catch let error as APIError {
            return Self.response(error.status, code: error.code, message: error.message)
        } catch let error as any HTTPResponseError {
            if error.status == .notFound, (error as? HTTPError)?.body == nil {
                let allowed = routes.methods(forPath: request.uri.path)
                if !allowed.isEmpty { return Self.methodNotAllowed(request.method, allowed: allowed) }
            }
            return Self.response(for: error.status, message: (error as? HTTPError)?.body)
        } catch is DecodingError {
            return Self.response(.badRequest, code: "invalid_input",
                                 message: "the request body is not the JSON this endpoint expects; see openapi.yaml")
        } catch is HTTPParserError {
            // The client's fault, not the server's: a malformed request, or a body cut short
            // (a request deadline closed its connection, which the answer will not reach).
            context.logger.notice("request body cut short or malformed", metadata: ["path": "\(request.uri.path)"])
            return Self.response(.badRequest, code: "invalid_input", message: "the request is not valid HTTP, or its body ended early")
        } catch let error where LedgerFailure.isRetryable(error) {
            context.logger.warning("ledger unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(String(describing: type(of: error)))"])
            return Self.unavailable()
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(describing: type(of: error)))"])
            return Self.response(.internalServerError, code: "internal", message: "the server failed to answer; the request may not have been carried out")
        }
    }

    /// How long a client waits before sending again a request the ledger could not take.
    static let retryAfterSecondsWhenUnavailable = 2

    /// The answer when the ledger's database went away or stayed busy (`LedgerFailure`):
    /// nothing was committed, and the same request (with its idempotency key) may be sent
    /// again. Not a bug, so not a 500.
    static func unavailable() -> Response {
        var answer = response(.serviceUnavailable, code: AllotError.Code.unavailable.rawValue,
                              message: "the ledger's database cannot be reached or is busy right now; nothing was changed, send the same request again in a moment")
        answer.headers[.retryAfter] = String(retryAfterSecondsWhenUnavailable)
        return answer
    }

    static func status(for code: AllotError.Code) -> HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .invalidInput: .badRequest
        case .conflict: .conflict
        case .idempotencyKeyReused, .unknownApp: .unprocessableContent
        case .unavailable: .serviceUnavailable
        case .apple: .badGateway
        case .tooLarge: .contentTooLarge
        default: .badRequest
        }
    }

    static func response(for status: HTTPResponse.Status, message: String?) -> Response {
        switch status {
        case .notFound:
            return response(status, code: "not_found", message: message ?? "there is no such endpoint; see openapi.yaml")
        case .contentTooLarge:
            return response(status, code: "too_large", message: message ?? "the request body is larger than \(ServerLimits.requestBodyBytesMax) bytes; split it")
        case .methodNotAllowed:
            return response(status, code: "method_not_allowed", message: message ?? "this endpoint does not take that method; see openapi.yaml")
        case .unauthorized:
            return response(status, code: "unauthorized", message: message ?? APIError.unauthorized.message)
        default:
            if status.code < 500 {
                return response(status, code: "invalid_input", message: message ?? "the request is not valid: \(status.reasonPhrase)")
            }
            return response(status, code: "internal", message: message ?? "the server failed to answer: \(status.reasonPhrase)")
        }
    }

    /// 405 with the methods the path takes, in `Allow` (RFC 9110, 15.5.6).
    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [String]) -> Response {
        var answer = Self.response(.methodNotAllowed, code: "method_not_allowed",
                                   message: "\(method.rawValue) is not allowed here; this path takes \(allowed.joined(separator: ", ")) (see /openapi.yaml)")
        answer.headers[.allow] = allowed.joined(separator: ", ")
        return answer
    }

    static func response(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        // The published error (AllotViews), the same object as the CLI's `--json` error.
        let data = ErrorView(code: code, message: message).json
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The key presented as `Authorization: Bearer KEY`, if any.
func bearerKey(_ request: Request) -> String? {
    guard let header = request.headers[.authorization] else { return nil }
    let parts = header.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
    let key = parts[1].trimmingCharacters(in: .whitespaces)
    return key.isEmpty ? nil : key
}

/// Puts the tenant on the context once the tenant's own API key is presented. A key of
/// another tenant (or the admin key) gets 404, exactly as if the tenant did not exist, so a
/// key never tells whether some other tenant exists; no key or an unknown key gets 401.
struct TenantMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext
    let engines: NodeEngines
    let adminKeyHash: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let slug = try context.parameters.require("slug")
        guard let key = bearerKey(request) else { throw APIError.unauthorized }
        let engine = engines.serving(tenant: slug)
        if try await engine.authenticate(tenant: slug, key: key) {
            var context = context
            context.tenant = slug
            context.tenantEngine = engine
            return try await next(request, context)
        }
        let isAdmin = adminKeyHash.map { APIKey.constantTimeEqual($0, APIKey.hash(key)) } ?? false
        if isAdmin, try await engine.tenantSlug(forKey: key) == nil {
            throw APIError.notFound("tenant routes take the tenant's own API key, not the admin key; rotate it with POST /v1/tenants/\(slug)/api-key if it is lost")
        }
        if try await engine.tenantSlug(forKey: key) != nil {
            throw APIError.notFound("there is no tenant '\(slug.printableExcerpt)'")
        }
        throw APIError(status: .unauthorized, code: "unauthorized", message: "the API key is not valid; keys are shown once by POST /v1/tenants or `allot tenant rotate-key`")
    }
}

/// Lets a request through only with the admin key.
struct AdminMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext
    let adminKeyHash: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let adminKeyHash else {
            throw APIError(status: .forbidden, code: "forbidden", message: "this server has no admin key; set ALLOT_ADMIN_KEY and restart it")
        }
        guard let key = bearerKey(request) else { throw APIError.unauthorized }
        guard APIKey.isPlausible(key), APIKey.constantTimeEqual(adminKeyHash, APIKey.hash(key)) else {
            throw APIError(status: .unauthorized, code: "unauthorized", message: "tenant management needs the admin key (ALLOT_ADMIN_KEY)")
        }
        return try await next(request, context)
    }
}

extension Request {
    /// The whole body, refused with 413 past `limit` bytes without reading further.
    func bodyBytes(limit: Int = ServerLimits.requestBodyBytesMax) async throws -> [UInt8] {
        do {
            let buffer = try await body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge("the request body is larger than \(limit) bytes; split it")
        }
    }

    /// The body decoded as JSON into `T`, with a 400 that says what was wrong.
    func decodeJSON<T: Decodable>(_ type: T.Type) async throws -> T {
        let bytes = try await bodyBytes()
        guard !bytes.isEmpty else { throw APIError.invalidInput("the request needs a JSON body; see openapi.yaml") }
        if ExplicitNull.occurs(in: bytes), let field = ExplicitNull.location(in: bytes) {
            throw APIError.invalidInput(field == "the body"
                ? "the body is null; send the JSON object openapi.yaml describes"
                : "`\(field)` is null; leave the field out or give it a value of the type openapi.yaml names")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.invalidInput("the JSON body is not what this endpoint expects: \(Self.explain(error))")
        }
    }

    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "the body" : "`\(joined)`"
        }
        switch error {
        case .keyNotFound(let key, let context): return "`\(key.stringValue)` is missing in \(path(context))"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .dataCorrupted(let context): return "\(path(context)) is not valid JSON"
        @unknown default: return "it could not be read"
        }
    }

    /// A query parameter as an integer, with a 400 when it is not one.
    func queryInt(_ name: String) throws -> Int? {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(String(text)) else { throw APIError.invalidInput("`\(name)` must be an integer") }
        return value
    }

    /// A query flag: absent is false; otherwise exactly `true` or `false`, once. Nothing looser
    /// (`yes`, `1`, `TRUE`, a bare `?dryRun`): the flags choose between looking and changing
    /// (`dryRun`) or how much a take-over revokes (`cleanUp`), so a value the server would
    /// have to guess is refused before anything changes, as openapi.yaml's `type: boolean` says.
    func queryBool(_ name: String) throws -> Bool {
        let values = uri.queryParameters.getAll(name)
        guard let text = values.first else { return false }
        guard values.count == 1 else {
            throw APIError.invalidInput("`\(name)` is given \(values.count) times; give it once, as `\(name)=true` or `\(name)=false`; nothing was changed")
        }
        switch text {
        case "true": return true
        case "false": return false
        case "": throw APIError.invalidInput("`\(name)` needs a value: give `\(name)=true` or `\(name)=false`; nothing was changed")
        default: throw APIError.invalidInput("`\(name)` must be `true` or `false`, not '\(text.printableExcerpt)'; nothing was changed")
        }
    }
}
