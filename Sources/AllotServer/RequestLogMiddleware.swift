import AllotCore
import HTTPTypes
import Hummingbird
import Logging

/// Logs each request once, when its answer is ready: method, route pattern, status and
/// duration. The pattern (`/v1/tenants/{slug}/tokens/{token}`), never the raw path or query,
/// and no header: what a request carries (keys, token files) stays out of the log.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext

    /// Proxies whose `X-Forwarded-For` names the client (`ForwardedClient`); the peer otherwise.
    var trustedProxies: [AddressBlock] = []
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Routes polled by machines (load balancers, Prometheus every few seconds) log at debug,
    /// so they do not bury the requests people make.
    static let quietRoutes: Set<String> = ["/healthz", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context: context, status: Int(response.status.code), start: start)
            return response
        } catch {
            // Only errors that are already HTTP answers reach here (JSONErrorMiddleware is inside).
            log(request, context: context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), start: start)
            throw error
        }
    }

    private func log(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        let route = context.endpointPath ?? "unmatched"
        let level: Logger.Level = Self.quietRoutes.contains(route) && status < 400 ? .debug : .info
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)",
            "route": "\(route)",
            "status": "\(status)",
            "duration_ms": "\((milliseconds * 100).rounded() / 100)",
        ]
        if let peer = context.peer {
            let client = ForwardedClient.resolve(peer: peer, forwardedFor: request.headers[values: Self.forwardedFor],
                                                 trustedProxies: trustedProxies)
            metadata["client"] = "\(client)"
        }
        context.logger.log(level: level, "request", metadata: metadata)
    }
}
