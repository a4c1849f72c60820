import AllotCore
import AllotViews
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import Prometheus
import Synchronization

/// The connection settings of `allot serve` (issue 28, point 2; the rules are
/// `ConnectionAdmission`'s). Tests shorten them.
public struct ConnectionSettings: Sendable, Hashable {
    /// Connections open at once; past it the server stops accepting until one closes (the rest
    /// wait in the listen backlog).
    public var openMax: Int = ServerLimits.openConnectionsMax
    /// Connections open at once from one client address (an IPv6 /64); past it a new one is
    /// closed at once.
    public var perAddressMax: Int = ServerLimits.openConnectionsPerAddressMax
    /// Connections under `openMax` kept for `/healthz` and requests with a key; 0 keeps none.
    public var reserved: Int = ServerLimits.reservedConnections
    /// How long a connection in the reserve has to send its request's head.
    public var provisionalSeconds: Double = ServerLimits.provisionalRequestSeconds
    /// Connections the kernel queues before the server accepts them (Linux caps it at
    /// `net.core.somaxconn`).
    public var listenBacklog: Int = ServerLimits.listenBacklog
    /// Proxies whose connections carry many clients: exempt from `perAddressMax` (the proxy
    /// must bound each client itself), and their `X-Forwarded-For` names the client in the log.
    public var trustedProxies: [AddressBlock] = []

    public init() {}

    public var limits: ConnectionLimits { ConnectionLimits(openMax: openMax, perAddressMax: perAddressMax, reserved: reserved) }
}

/// The connections open, by client address, shared by every connection of one server. A mutex,
/// not an actor: it is taken on the event loops at accept and close, and never across an await.
final class ConnectionRegistry: Sendable {
    struct State {
        var byClient: [String: Int] = [:]
        var total = 0
        /// Clients refused since they last had no connection open: one log line per flood, not
        /// one per connection.
        var refusalLogged: Set<String> = []
    }

    /// Why a connection was closed unserved, as the `rule` label of the refusals counter.
    enum Refusal: String, CaseIterable {
        case addressAtBound = "address_at_bound"
        /// A reserve connection's request had neither a key nor the `/healthz` path (503).
        case reserveWithoutKey = "reserve_without_key"
        /// A reserve connection sent no request head within `provisionalSeconds`.
        case reserveSilent = "reserve_silent"
    }

    let settings: ConnectionSettings
    private let state = Mutex(State())
    private let openGauge: Gauge
    private let refusals: [Refusal: Counter]

    init(settings: ConnectionSettings, metrics: PrometheusCollectorRegistry) {
        self.settings = settings
        _ = settings.limits // checks the bounds once, at start
        openGauge = metrics.makeGauge(name: ServerMetrics.Name.connectionsOpen, help: "HTTP connections open, counted at accept")
        var refusals: [Refusal: Counter] = [:]
        for refusal in Refusal.allCases {
            refusals[refusal] = metrics.makeCounter(name: ServerMetrics.Name.connectionsRefused, labels: [("rule", refusal.rawValue)],
                                                    help: "HTTP connections closed unserved by the fair connection limits")
        }
        self.refusals = refusals
    }

    func count(_ refusal: Refusal) {
        refusals[refusal]?.increment()
    }

    /// Decides on a new connection and counts it unless refused. `logRefusal` is true for the
    /// first refusal of a client since it last had nothing open.
    func open(client: String, exempt: Bool) -> (admission: ConnectionAdmission, logRefusal: Bool) {
        state.withLock { state in
            let admission = ConnectionAdmission.decide(openFromAddress: state.byClient[client, default: 0], openTotal: state.total,
                                                       limits: settings.limits, exemptFromAddressBound: exempt)
            if case .refused = admission {
                return (admission, state.refusalLogged.insert(client).inserted)
            }
            state.byClient[client, default: 0] += 1
            state.total += 1
            openGauge.set(Double(state.total))
            return (admission, false)
        }
    }

    func close(client: String) {
        state.withLock { state in
            let count = state.byClient[client, default: 0]
            precondition(count > 0, "a connection is closed once, after it was counted")
            precondition(state.total > 0, "the total counts every connection")
            state.total -= 1
            openGauge.set(Double(state.total))
            if count == 1 {
                state.byClient[client] = nil
                state.refusalLogged.remove(client)
            } else {
                state.byClient[client] = count - 1
            }
        }
    }

    /// Connections counted now (tests read it).
    var openTotal: Int { state.withLock { $0.total } }
}

/// Performs `ConnectionAdmission` on one connection: at its start it is counted, refused
/// (closed at once) or admitted provisionally; a provisional one must send a request head that
/// may use the reserve within `provisionalSeconds`, gets one answer, and is closed after it.
/// A request that may not use the reserve gets 503 `unavailable` and the connection is closed.
/// Runs on the channel's event loop, so its own state needs no lock.
final class ConnectionAdmissionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let registry: ConnectionRegistry
    let logger: Logger
    /// The client this connection is counted under, once counted.
    private var counted: String?
    private var decided = false
    private var provisional = false
    /// A provisional connection's request passed: its answer is the last.
    private var closeAfterAnswer = false
    /// A request was refused: what else it sends is dropped.
    private var discarding = false
    private var headDeadline: Scheduled<Void>?

    init(registry: ConnectionRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        // A refused connection is closed already: the handlers after this one hear of its end,
        // not of a start after it.
        if !discarding { context.fireChannelActive() }
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        // A connection without an IP peer (a Unix socket) is not a client of the network.
        guard let text = context.channel.remoteAddress?.ipAddress, let peer = IPAddress(parsing: text) else { return }
        let client = ConnectionAdmission.clientKey(peer)
        let exempt = registry.settings.trustedProxies.contains { $0.contains(peer) }
        let (admission, logRefusal) = registry.open(client: client, exempt: exempt)
        switch admission {
        case .admitted:
            counted = client
        case .provisional:
            counted = client
            provisional = true
            let seconds = registry.settings.provisionalSeconds
            headDeadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
                self.logger.debug("closing a reserve connection that sent no request in time", metadata: ["remote": "\(client)"])
                self.registry.count(.reserveSilent)
                context.close(promise: nil)
            }
        case .refused(let rule):
            switch rule {
            case .addressAtBound: registry.count(.addressAtBound)
            }
            if logRefusal {
                logger.notice("refusing connections from a client at its bound; further refusals are not logged until it has none open",
                              metadata: ["remote": "\(client)", "rule": "\(rule.rawValue)",
                                         "bound": "\(registry.settings.perAddressMax)"])
            }
            discarding = true
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discarding else { return }
        if provisional, !closeAfterAnswer, case .head(let head) = unwrapInboundIn(data) {
            headDeadline?.cancel()
            headDeadline = nil
            guard ConnectionAdmission.requestMayUseReserve(path: head.path ?? "", hasAuthorization: head.headerFields[.authorization] != nil) else {
                discarding = true
                registry.count(.reserveWithoutKey)
                refuseBusy(context)
                return
            }
            closeAfterAnswer = true
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard closeAfterAnswer else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational:
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.hop(to: context.eventLoop).assumeIsolatedUnsafeUnchecked().whenComplete { _ in
                context.close(promise: nil)
            }
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    /// 503 `unavailable` with `Retry-After`, the API's existing answer for "nothing was done,
    /// send it again shortly" (not a new code: one word for one thing), then the connection is
    /// closed.
    private func refuseBusy(_ context: ChannelHandlerContext) {
        let body = ErrorView(code: AllotError.Code.unavailable.rawValue,
                             message: "the server is at its connection limit; only /healthz and requests with a key are served now; retry after Retry-After seconds").json
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
            .contentType: "application/json", .contentLength: "\(body.count)", .connection: "close", .retryAfter: "1",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).hop(to: context.eventLoop).assumeIsolatedUnsafeUnchecked().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        headDeadline?.cancel()
        headDeadline = nil
        if let client = counted {
            counted = nil
            registry.close(client: client)
        }
    }
}
